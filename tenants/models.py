from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.fields import EncryptedTextField, UnreadableSecret

#: What a tool call can do, from least to most consequential outside the hub. The bridge
#: derives one of these per tool from its MCP annotations; API tokens carry a subset as
#: scopes, and a tenant's approval policy names the ones a person must approve in the chat.
READ, WRITE, DESTRUCTIVE, OUTBOUND = "read", "write", "destructive", "outbound"
TOOL_RISKS = (READ, WRITE, DESTRUCTIVE, OUTBOUND)


def scopes_parse(text: str) -> frozenset[str]:
    """The risks named in a comma list, unknown names left out."""
    return frozenset(part.strip() for part in text.split(",")) & frozenset(TOOL_RISKS)


def scopes_text(scopes: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> str:
    """Scopes as stored: a comma list in the order of ``TOOL_RISKS``."""
    return ",".join(risk for risk in TOOL_RISKS if risk in scopes)


class Tenant(models.Model):
    """A GHL sub-account (location) and everything the hub holds for it."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
        UNINSTALLED = "uninstalled", "Uninstalled"
        DISABLED = "disabled", "Disabled"

    class ApprovalPolicy(models.TextChoices):
        RISKY = "risky", "Deleting and reaching customers (recommended)"
        CHANGES = "changes", "Every change: creating, updating, deleting and reaching customers"
        NONE = "none", "Nothing: the assistant acts without asking"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    location_id = models.CharField("GHL location id", max_length=64, unique=True)
    company_id = models.CharField("GHL company id", max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    status_reason = models.TextField(blank=True)
    approval_policy = models.CharField(
        max_length=16,
        choices=ApprovalPolicy.choices,
        default=ApprovalPolicy.RISKY,
        help_text="Which tool calls the assistant must have a person approve in the chat.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="tenants", blank=True
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.ACTIVE

    def approval_risks(self) -> frozenset[str]:
        """The risks of tool calls that need a person's approval in the chat."""
        return _APPROVAL_RISKS[self.ApprovalPolicy(self.approval_policy)]


_APPROVAL_RISKS = {
    Tenant.ApprovalPolicy.RISKY: frozenset({DESTRUCTIVE, OUTBOUND}),
    Tenant.ApprovalPolicy.CHANGES: frozenset({WRITE, DESTRUCTIVE, OUTBOUND}),
    Tenant.ApprovalPolicy.NONE: frozenset(),
}


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"


class TenantSecret(models.Model):
    """The tenant's GHL tokens, encrypted at rest.

    ``version`` increases on every change (tokens, or the tenant being
    disabled, enabled or uninstalled), so a process holding an older copy can
    tell it is stale.
    """

    class UserType(models.TextChoices):
        LOCATION = "Location", "Location"
        COMPANY = "Company", "Company"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="secret")
    access_token = EncryptedTextField()
    # Empty for Private Integration Tokens, which GHL does not refresh.
    refresh_token = EncryptedTextField(blank=True, default="")
    token_type = models.CharField(max_length=32, default="Bearer")
    scopes = models.TextField(blank=True, help_text="Space-separated, as GHL sends them.")
    user_type = models.CharField(max_length=16, choices=UserType.choices, default=UserType.LOCATION)
    user_id = models.CharField("GHL user id", max_length=64, blank=True)
    # Null when GHL gave no lifetime (Private Integration Tokens do not expire).
    expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Set while one caller asks GHL for a new pair, so that no other spends the
    # single-use refresh token too (see tenants.credentials).
    refresh_claim = models.CharField(max_length=32, blank=True, editable=False)
    refresh_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"GHL credentials of tenant {self.tenant_id} (version {self.version})"

    @property
    def is_readable(self) -> bool:
        return not isinstance(self.access_token, UnreadableSecret) and not isinstance(
            self.refresh_token, UnreadableSecret
        )

    def expires_within(self, margin: timedelta, *, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at - margin <= (now or timezone.now())

    def is_expired(self, *, now: datetime | None = None) -> bool:
        return self.expires_within(timedelta(0), now=now)


class ApiToken(models.Model):
    """A bearer token that lets a program act for one tenant; only its SHA-256 is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    # The risks of the tools it may call (a comma list of TOOL_RISKS); a viewer's is read only.
    scopes = models.CharField(max_length=64, default=READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_tokens_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, *, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    @property
    def scope_set(self) -> frozenset[str]:
        if self.role == Membership.Role.VIEWER:
            return frozenset({READ})
        return scopes_parse(self.scopes)


class WebhookEvent(models.Model):
    """A GHL webhook delivery that was accepted, kept so that a replay of it changes nothing."""

    delivery_id = models.CharField(
        max_length=128, unique=True, help_text="GHL's webhookId, or a hash of the body."
    )
    event_type = models.CharField(max_length=64)
    location_id = models.CharField("GHL location id", max_length=64, blank=True)
    company_id = models.CharField("GHL company id", max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.location_id or self.company_id} ({self.delivery_id})"


class AuditEntry(models.Model):
    """One tool call, or one change of a tenant's policy, as it happened. Never edited."""

    class WayIn(models.TextChoices):
        CHAT = "chat", "Chat"
        EXPLORER = "explorer", "Tool explorer"
        HTTP = "http", "HTTP API"
        WEBSOCKET = "websocket", "Websocket program"
        MCP = "mcp", "MCP client"
        SETTINGS = "settings", "Settings page"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_entries")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # The actor: a user, or an API token (its name is kept should the token go).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    api_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    actor = models.CharField(max_length=200, help_text="Who acted, as shown.")
    way_in = models.CharField(max_length=16, choices=WayIn.choices)
    conversation_id = models.PositiveIntegerField(null=True, blank=True)
    tool = models.CharField(max_length=200, blank=True, db_index=True)
    risk = models.CharField(max_length=16, blank=True)
    arguments = models.TextField(blank=True, help_text="JSON, secrets removed, cut to a few KB.")
    approval_needed = models.BooleanField(default=False)
    approval_decision = models.CharField(max_length=16, blank=True)
    approved_by = models.CharField(max_length=200, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=64, db_index=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["tenant", "-at"], name="audit_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.tool or self.way_in} {self.outcome}"
