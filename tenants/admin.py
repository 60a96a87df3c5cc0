from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.timesince import timeuntil

from tenants.access import api_token_create, api_token_revoke
from tenants.credentials import CredentialsError, tenant_token_refresh
from tenants.forms import SCOPE_CHOICES
from tenants.models import (
    READ,
    WRITE,
    ApiToken,
    AuditEntry,
    Membership,
    Tenant,
    TenantSecret,
    WebhookEvent,
    scopes_parse,
)
from tenants.services import tenant_disable, tenant_enable

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]  # generic only in the stubs
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


def _secret_of(tenant: Tenant) -> TenantSecret | None:
    try:
        return tenant.secret
    except TenantSecret.DoesNotExist:
        return None


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    list_display = ["slug", "name", "location_id", "status", "secret_status", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["secret"]
    search_fields = ["slug", "name", "location_id", "company_id"]
    inlines = [MembershipInline]
    actions = ["refresh_token_now", "disable", "enable"]
    fieldsets = [
        (None, {"fields": ["slug", "name", "location_id", "company_id"]}),
        ("Status", {"fields": ["status", "status_reason", "created_at", "updated_at"]}),
        (
            "GHL credentials",
            {
                "fields": [
                    "secret_status",
                    "secret_version",
                    "secret_last_refreshed_at",
                    "secret_last_error",
                ]
            },
        ),
    ]
    _always_read_only = (
        "status",
        "status_reason",
        "created_at",
        "updated_at",
        "secret_status",
        "secret_version",
        "secret_last_refreshed_at",
        "secret_last_error",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        # The location ties stored tokens to a GHL sub-account: fixed once created.
        extra = ["location_id"] if obj is not None else []
        return [*self._always_read_only, *extra]

    @admin.display(description="Credentials")
    def secret_status(self, tenant: Tenant) -> str:
        secret = _secret_of(tenant)
        if secret is None:
            return "missing"
        if not secret.is_readable:
            return "unreadable: no key in FIELD_ENCRYPTION_KEYS opens it"
        if secret.expires_at is None:
            return "present, does not expire"
        if secret.is_expired():
            return "present, expired"
        return f"present, expires in {timeuntil(secret.expires_at, depth=1)}"

    @admin.display(description="Version")
    def secret_version(self, tenant: Tenant) -> int | str:
        secret = _secret_of(tenant)
        return secret.version if secret else "-"

    @admin.display(description="Last refresh")
    def secret_last_refreshed_at(self, tenant: Tenant) -> Any:
        secret = _secret_of(tenant)
        return (secret.last_refreshed_at if secret else None) or "-"

    @admin.display(description="Last error")
    def secret_last_error(self, tenant: Tenant) -> str:
        secret = _secret_of(tenant)
        return (secret.last_error if secret else "") or "-"

    @admin.action(description="Refresh token now")
    def refresh_token_now(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            try:
                version = tenant_token_refresh(tenant=tenant)
            except CredentialsError as exc:
                self.message_user(request, f"{tenant.slug}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{tenant.slug}: token refreshed (version {version}).",
                    messages.SUCCESS,
                )

    @admin.action(description="Disable (close running sessions)")
    def disable(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            if tenant.status == Tenant.Status.DISABLED:
                self.message_user(request, f"{tenant.slug}: already disabled.", messages.WARNING)
                continue
            tenant_disable(tenant=tenant, reason=f"Disabled by {request.user}.")
            self.message_user(request, f"{tenant.slug}: disabled.", messages.SUCCESS)

    @admin.action(description="Enable")
    def enable(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            if tenant.status != Tenant.Status.DISABLED:
                self.message_user(request, f"{tenant.slug}: not disabled.", messages.WARNING)
                continue
            tenant_enable(tenant=tenant)
            self.message_user(request, f"{tenant.slug}: enabled.", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__slug", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]


class ApiTokenAdminForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        initial=[READ, WRITE],
        widget=forms.CheckboxSelectMultiple,
        help_text="The risks of the tools it may call. A viewer token may only read.",
    )

    class Meta:
        model = ApiToken
        fields = ["tenant", "name", "role", "scopes", "expires_at"]

    def clean_scopes(self) -> str:
        return ",".join(self.cleaned_data["scopes"])


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    form = ApiTokenAdminForm
    list_display = [
        "name",
        "tenant",
        "prefix",
        "role",
        "scopes",
        "state",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
    ]
    list_filter = ["role"]
    list_select_related = ["tenant", "created_by"]
    search_fields = ["name", "prefix", "tenant__slug"]
    autocomplete_fields = ["tenant"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> _FieldGroups:
        if obj is None:
            return ["tenant", "name", "role", "scopes", "expires_at"]
        return [
            "tenant",
            "name",
            "role",
            "scopes",
            "prefix",
            "state",
            "created_by",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return []
        return [
            "tenant",
            "role",
            "scopes",
            "prefix",
            "state",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    @admin.display(description="State")
    def state(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return "revoked"
        return "active" if token.is_active() else "expired"

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: ModelForm[ApiToken], change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, plaintext = api_token_create(
            tenant=obj.tenant,
            name=obj.name,
            created_by=request.user,
            expires_at=obj.expires_at,
            role=obj.role,
            scopes=scopes_parse(obj.scopes),
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        # The plaintext rides on this one object to response_add, never on the model.
        obj.plaintext_once = plaintext  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Rendered, not redirected: the plaintext must not travel through the
        # message store (a cookie) and is never retrievable again.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "plaintext": obj.plaintext_once,  # type: ignore[attr-defined]  # set by save_model
            "title": "API token created",
        }
        # The admin's never_cache keeps the page out of every cache.
        return TemplateResponse(request, "admin/tenants/apitoken/created.html", context)

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.select_related("tenant"):
            if token.revoked_at is not None:
                self.message_user(request, f"{token}: already revoked.", messages.WARNING)
                continue
            api_token_revoke(token=token)
            self.message_user(request, f"{token}: revoked.", messages.SUCCESS)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    list_display = ["event_type", "location_id", "company_id", "outcome", "sent_at", "received_at"]
    list_filter = ["event_type"]
    search_fields = ["delivery_id", "location_id", "company_id"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    """Every tenant's audit log, read-only: entries are only ever added."""

    list_display = ["at", "tenant", "actor", "way_in", "tool", "risk", "approval", "outcome"]
    list_filter = ["way_in", "risk", "outcome", "approval_decision"]
    list_select_related = ["tenant"]
    search_fields = ["tenant__slug", "actor", "tool"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    @admin.display(description="Approval")
    def approval(self, entry: AuditEntry) -> str:
        if not entry.approval_needed:
            return "—"
        by = f" by {entry.approved_by}" if entry.approved_by else ""
        return f"{entry.approval_decision or 'pending'}{by}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
