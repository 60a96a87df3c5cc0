from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.fields import EncryptedTextField, UnreadableSecret


class Tenant(models.Model):
    """A GHL sub-account (location) and everything the hub holds for it."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
        UNINSTALLED = "uninstalled", "Uninstalled"
        DISABLED = "disabled", "Disabled"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    location_id = models.CharField("GHL location id", max_length=64, unique=True)
    company_id = models.CharField("GHL company id", max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    status_reason = models.TextField(blank=True)
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
