"""Domain errors of the tenants app.

Every message is safe to show to the tenant's users and to log: it names the
tenant, never a token. ``permanent`` says whether retrying can help.
"""

from __future__ import annotations


class CredentialsError(Exception):
    permanent = True

    def __init__(self, message: str, *, tenant_slug: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tenant_slug = tenant_slug


class TenantSecretMissingError(CredentialsError):
    """The tenant has no stored GHL credentials."""


class TenantSecretUnreadableError(CredentialsError):
    """No key in FIELD_ENCRYPTION_KEYS opens the tenant's stored credentials."""


class TenantNeedsReauthError(CredentialsError):
    """GHL no longer accepts the tenant's tokens: someone must sign in with GHL again."""


class TenantInactiveError(CredentialsError):
    """The tenant is disabled or uninstalled; its credentials must not be used."""


class TokenRefreshFailedError(CredentialsError):
    """GHL could not be reached or answered with an error; the stored tokens are kept."""

    def __init__(self, message: str, *, tenant_slug: str = "", permanent: bool = False) -> None:
        super().__init__(message, tenant_slug=tenant_slug)
        self.permanent = permanent


class InvalidCredentialsPayloadError(CredentialsError):
    """A token payload is malformed; ``errors`` maps each bad field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("The credentials payload has errors: " + ", ".join(sorted(errors)))
        self.errors = errors


class CredentialsConflictError(CredentialsError):
    """The payload's tenant and location identify different tenants."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
