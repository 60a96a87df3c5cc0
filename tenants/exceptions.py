"""Domain errors of the tenants app, in the project's one error family (``config.errors``).

Every message is safe to show to the tenant's users and to log: it names the
tenant, never a token. ``permanent`` says whether retrying can help.
"""

from __future__ import annotations

from config.errors import HubError


class CredentialsError(HubError):
    code = "credentials_error"
    default_message = "The account's HighLevel credentials cannot be used."
    permanent = True

    def __init__(
        self,
        message: str,
        *,
        tenant_slug: str = "",
        permanent: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, retry_after=retry_after)
        self.tenant_slug = tenant_slug


class TenantSecretMissingError(CredentialsError):
    """The tenant has no stored GHL credentials."""

    code = "no_credentials"


class TenantSecretUnreadableError(CredentialsError):
    """No key in FIELD_ENCRYPTION_KEYS opens the tenant's stored credentials."""

    code = "credentials_unreadable"


class TenantNeedsReauthError(CredentialsError):
    """GHL no longer accepts the tenant's tokens: someone must sign in with GHL again."""

    code = "needs_reauth"


class TenantInactiveError(CredentialsError):
    """The tenant is disabled or uninstalled; its credentials must not be used."""

    code = "tenant_inactive"


class TokenRefreshFailedError(CredentialsError):
    """GHL could not be reached or answered with an error; the stored tokens are kept."""

    code = "token_refresh_failed"
    permanent = False


class InvalidCredentialsPayloadError(CredentialsError):
    """A token payload is malformed; ``errors`` maps each bad field to its messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("The credentials payload has errors: " + ", ".join(sorted(errors)))
        self.errors = errors


class CredentialsConflictError(CredentialsError):
    """The payload's tenant and location identify different tenants."""

    code = "conflict"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
