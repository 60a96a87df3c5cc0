"""A tenant's GHL credentials: store them, read them, keep the access token fresh.

GHL access tokens live about a day and refresh tokens are single-use, so two
refreshes racing would leave the tenant with a dead refresh token. A refresh
therefore first claims the tenant's secret (a short transaction under its row
lock), asks GHL holding no lock, and settles in a second short transaction;
callers that find a live claim wait for it and use what it stored. The steps
are described where they are written, below.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.logging import tenant_logging
from tenants import oauth
from tenants.exceptions import (
    CredentialsConflictError,
    CredentialsError,
    InvalidCredentialsPayloadError,
    TenantInactiveError,
    TenantNeedsReauthError,
    TenantSecretMissingError,
    TenantSecretUnreadableError,
    TokenRefreshFailedError,
)
from tenants.models import Tenant, TenantSecret
from tenants.payloads import TokenPayload, token_payload_parse
from tenants.signals import credentials_changed_on_commit

__all__ = [
    "CredentialsConflictError",
    "CredentialsError",
    "InvalidCredentialsPayloadError",
    "TenantCredentials",
    "TenantInactiveError",
    "TenantNeedsReauthError",
    "TenantSecretMissingError",
    "TenantSecretUnreadableError",
    "TokenRefreshFailedError",
    "aget_valid_token",
    "aget_valid_token_version",
    "get_tenant_secrets",
    "get_valid_token",
    "tenant_token_refresh",
    "upsert_credentials",
]

logger = logging.getLogger(__name__)

_MAX_REASON = 500


@dataclass(frozen=True)
class TenantCredentials:
    tenant_id: int
    tenant_slug: str
    location_id: str
    company_id: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_type: str
    scopes: tuple[str, ...]
    user_type: str
    version: int
    expires_at: datetime | None


def _credentials_of(secret: TenantSecret) -> TenantCredentials:
    tenant = secret.tenant
    _require_readable(secret)
    return TenantCredentials(
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        location_id=tenant.location_id,
        company_id=tenant.company_id,
        access_token=secret.access_token,
        refresh_token=secret.refresh_token,
        token_type=secret.token_type,
        scopes=tuple(secret.scopes.split()),
        user_type=secret.user_type,
        version=secret.version,
        expires_at=secret.expires_at,
    )


def _require_readable(secret: TenantSecret) -> None:
    if not secret.is_readable:
        slug = secret.tenant.slug
        raise TenantSecretUnreadableError(
            f"The stored GHL credentials of tenant {slug!r} cannot be decrypted with any key "
            "in FIELD_ENCRYPTION_KEYS: restore the missing key, or sign in with GHL again.",
            tenant_slug=slug,
        )


def _secret_of(tenant_id: int, *, lock: bool = False) -> TenantSecret:
    queryset = TenantSecret.objects.select_related("tenant")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.get(tenant_id=tenant_id)
    except TenantSecret.DoesNotExist:
        slug = Tenant.objects.filter(pk=tenant_id).values_list("slug", flat=True).first()
        raise TenantSecretMissingError(
            f"Tenant {slug or tenant_id!r} has no stored GHL credentials.", tenant_slug=slug or ""
        ) from None


def get_tenant_secrets(tenant: Tenant) -> TenantCredentials:
    """The tenant's full credential set, read fresh from the database.

    Raises :class:`TenantSecretMissingError` (views answer 404) or
    :class:`TenantSecretUnreadableError`.
    """
    return _credentials_of(_secret_of(tenant.pk))


# --- Storing a payload ---------------------------------------------------------


def upsert_credentials(
    payload: Mapping[str, Any], *, reason: str = "update"
) -> tuple[Tenant, bool]:
    """Create or update a tenant and its secret from a GHL token payload, atomically.

    Accepts GHL's spelling (``access_token``, ``locationId``, ...) and camelCase
    (``accessToken``, ...); ``tenantId`` names the tenant's slug. Returns
    ``(tenant, created)``, ``created`` meaning a new tenant. Sends
    ``credentials_changed`` with ``reason`` on commit.
    """
    data = token_payload_parse(payload)
    try:
        return _upsert_once(data, reason=reason)
    except IntegrityError:
        # Another request created the same tenant between our look-up and our
        # insert; now it exists, and this becomes an update.
        return _upsert_once(data, reason=reason)


def _upsert_once(data: TokenPayload, *, reason: str) -> tuple[Tenant, bool]:
    with transaction.atomic():
        tenant, created = _tenant_for(data)
        secret = _secret_store(tenant=tenant, data=data)
        credentials_changed_on_commit(
            tenant_id=tenant.pk, tenant_slug=tenant.slug, version=secret.version, reason=reason
        )
    return tenant, created


def _tenant_for(data: TokenPayload) -> tuple[Tenant, bool]:
    slug = data.slug or data.location_id
    # One statement for both look-ups, so a tenant committed by a concurrent
    # request cannot appear between them.
    matches = list(
        Tenant.objects.select_for_update().filter(Q(location_id=data.location_id) | Q(slug=slug))
    )
    tenant = next((t for t in matches if t.location_id == data.location_id), None)
    if tenant is not None and data.slug and tenant.slug != data.slug:
        raise CredentialsConflictError(
            f"locationId {data.location_id} already belongs to tenant {tenant.slug!r}.",
            field="tenantId",
        )
    if tenant is None and matches:
        raise CredentialsConflictError(
            f"Tenant {slug!r} is bound to another locationId.", field="locationId"
        )
    if tenant is None:
        tenant = Tenant.objects.create(
            slug=slug, location_id=data.location_id, name=data.name, company_id=data.company_id
        )
        return tenant, True
    _tenant_refresh_details(tenant, data)
    return tenant, False


def _tenant_refresh_details(tenant: Tenant, data: TokenPayload) -> None:
    tenant.company_id = data.company_id or tenant.company_id
    tenant.name = tenant.name or data.name
    # New tokens are what re-authorisation means; a disabled tenant stays disabled.
    if tenant.status in (Tenant.Status.NEEDS_REAUTH, Tenant.Status.UNINSTALLED):
        tenant.status = Tenant.Status.ACTIVE
        tenant.status_reason = ""
    tenant.save()


def _secret_store(*, tenant: Tenant, data: TokenPayload) -> TenantSecret:
    secret = TenantSecret.objects.select_for_update().filter(tenant=tenant).first()
    if secret is None:
        secret = TenantSecret(tenant=tenant, version=0)
    now = timezone.now()
    secret.access_token = data.access_token
    secret.refresh_token = data.refresh_token
    secret.expires_at = (
        None if data.expires_in is None else now + timedelta(seconds=data.expires_in)
    )
    secret.token_type = data.token_type
    secret.scopes = data.scope
    secret.user_type = data.user_type
    secret.user_id = data.user_id or secret.user_id
    secret.version += 1
    secret.last_error = ""
    secret.last_error_at = None
    secret.save()
    return secret


# --- Keeping the access token fresh ---------------------------------------------
#
# A refresh is three steps, and only the first and the last touch the database:
#
# 1. claim: in a short transaction under the row lock, decide whether a refresh is due
#    and, when no other caller is refreshing, write a claim (an id and its time);
# 2. exchange: ask GHL, holding no lock and no transaction (and, from async code, no
#    thread), however long GHL takes;
# 3. settle: in a second short transaction, store the new pair (or record the failure)
#    and clear the claim. GHL spent the old refresh token the moment it answered, so the
#    new pair is the only one left: storing it is retried on a new connection when the
#    database drops, and kept in the process for the next refresh when even that fails.
#
# A caller that finds a live claim waits for it to clear and reads what it stored, so a
# tenant has one refresh in flight across every worker, and nobody else waits at all.

# After a failed refresh, callers within this window reuse the stored token (or fail
# fast with a retry hint) instead of each asking GHL again.
REFRESH_FAILURE_COOLDOWN = timedelta(seconds=10)
# A claim older than this was abandoned (its worker died mid-exchange) and may be taken
# over: longer than one exchange with all its retries can last.
REFRESH_CLAIM_TTL = timedelta(seconds=60)
# Pauses between attempts to settle a refresh when the database dropped the connection.
SETTLE_RETRY_DELAYS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 4.0, 8.0)
_CLAIM_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Claim:
    """This caller's right to refresh a tenant's token, and what it needs to do so."""

    tenant_id: int
    tenant_slug: str
    refresh_token: str = field(repr=False)
    user_type: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class _Claimed:
    """Another caller is refreshing the tenant's token: wait for it, then look again."""


_Step = str | _Claim | _Claimed
_Outcome = tuple[_Step, CredentialsError | None]

# New pairs GHL gave this process that the database would not take; the next refresh of
# the tenant in this process stores them before anything else.
_unsaved: dict[int, tuple[_Claim, oauth.OAuthTokens]] = {}


def _margin(margin: timedelta | None) -> timedelta:
    if margin is not None:
        return margin
    return timedelta(seconds=settings.GHL_TOKEN_REFRESH_MARGIN)


def _needs_reauth(tenant: Tenant) -> TenantNeedsReauthError:
    return TenantNeedsReauthError(
        f"Tenant {tenant.slug!r} must sign in with GHL again: {tenant.status_reason}",
        tenant_slug=tenant.slug,
    )


def _require_usable(tenant: Tenant) -> None:
    if tenant.status == Tenant.Status.NEEDS_REAUTH:
        raise _needs_reauth(tenant)
    if tenant.status != Tenant.Status.ACTIVE:
        raise TenantInactiveError(
            f"Tenant {tenant.slug!r} is {tenant.get_status_display().lower()}.",
            tenant_slug=tenant.slug,
        )


def _usable_secret(tenant_id: int) -> TenantSecret:
    secret = _secret_of(tenant_id)
    _require_usable(secret.tenant)
    _require_readable(secret)
    return secret


def get_valid_token(tenant: Tenant, *, margin: timedelta | None = None) -> str:
    """An access token valid for at least ``margin`` (``GHL_TOKEN_REFRESH_MARGIN``).

    Refreshes at GHL when needed, one refresh per tenant at a time across every
    worker; concurrent callers all get its token. Raises a :class:`CredentialsError`
    subclass when no usable token can be had.
    """
    margin = _margin(margin)
    secret = _usable_secret(tenant.pk)
    if not secret.expires_within(margin):
        return secret.access_token
    return _refresh(tenant_id=tenant.pk, margin=margin, force=False)


async def aget_valid_token(tenant: Tenant, *, margin: timedelta | None = None) -> str:
    """Async twin of :func:`get_valid_token`: waiting on GHL holds no thread and no lock."""
    margin = _margin(margin)
    secret = await database_sync_to_async(_usable_secret)(tenant.pk)
    if not secret.expires_within(margin):
        return secret.access_token
    # Shielded: a caller that goes away (a closed socket) must not cut a refresh short
    # between GHL's answer and the store.
    task = asyncio.ensure_future(_arefresh(tenant_id=tenant.pk, margin=margin))
    task.add_done_callback(_retrieved)
    return await asyncio.shield(task)


def _retrieved(task: asyncio.Future[str]) -> None:
    # The caller may have gone; its outcome was recorded (or logged) already.
    if not task.cancelled():
        task.exception()


async def aget_valid_token_version(tenant: Tenant, *, margin: timedelta | None = None) -> int:
    """The version of the tenant's credentials once its access token is valid for ``margin``.

    What the bridge needs to know whether a child runs on the current token. Reads only
    the version and expiry (nothing is decrypted) unless a refresh is due, which runs as
    in :func:`aget_valid_token`. Raises a :class:`CredentialsError` subclass likewise.
    """
    margin = _margin(margin)
    row = await _version_and_expiry(tenant.pk)
    if row is None:
        raise TenantSecretMissingError(
            f"Tenant {tenant.slug!r} has no stored GHL credentials.", tenant_slug=tenant.slug
        )
    version, expires_at = row
    if expires_at is None or expires_at > timezone.now() + margin:
        return int(version)
    await aget_valid_token(tenant, margin=margin)
    row = await _version_and_expiry(tenant.pk)
    return int(row[0] if row is not None else version)


# Through database_sync_to_async, not the ORM's own async methods: its connection goes
# back to the pool at once instead of staying with the request until the request ends
# (a tool call would otherwise hold one while the child works).
@database_sync_to_async
def _version_and_expiry(tenant_id: int) -> tuple[int, datetime | None] | None:
    rows = TenantSecret.objects.filter(tenant_id=tenant_id).values_list("version", "expires_at")
    return rows.first()


def tenant_token_refresh(*, tenant: Tenant) -> int:
    """Refresh the tenant's token now, whatever its expiry; return the new version."""
    _refresh(tenant_id=tenant.pk, margin=timedelta(0), force=True)
    return _secret_of(tenant.pk).version


# The two drivers: the same steps, blocking or awaiting between them.


def _refresh(*, tenant_id: int, margin: timedelta, force: bool) -> str:
    _store_unsaved(tenant_id)
    while isinstance(step := _claim_step(tenant_id, margin=margin, force=force), _Claimed):
        force = False  # whoever held the claim refreshed: that is the refresh asked for
        _claim_wait(tenant_id)
    if isinstance(step, str):
        return step
    try:
        tokens = oauth.oauth_token_refresh(
            refresh_token=step.refresh_token, user_type=step.user_type
        )
    except oauth.OAuthError as exc:
        return _settle_durably(partial(_settle_failure, step, exc))
    return _settle_durably(partial(_settle_success, step, tokens), unsaved=(step, tokens))


async def _arefresh(*, tenant_id: int, margin: timedelta) -> str:
    if tenant_id in _unsaved:
        await database_sync_to_async(_store_unsaved)(tenant_id)
    while isinstance(
        step := await database_sync_to_async(_claim_step)(tenant_id, margin=margin, force=False),
        _Claimed,
    ):
        await _aclaim_wait(tenant_id)
    if isinstance(step, str):
        return step
    try:
        tokens = await oauth.aoauth_token_refresh(
            refresh_token=step.refresh_token, user_type=step.user_type
        )
    except oauth.OAuthError as exc:
        return await _asettle_durably(partial(_settle_failure, step, exc))
    return await _asettle_durably(partial(_settle_success, step, tokens), unsaved=(step, tokens))


def _settle_durably(
    settle: Callable[[], _Outcome], *, unsaved: tuple[_Claim, oauth.OAuthTokens] | None = None
) -> str:
    # Inside a caller's transaction a new connection would lose its work: one attempt.
    delays = () if connection.in_atomic_block else SETTLE_RETRY_DELAYS
    for delay in (*delays, None):
        try:
            return _raised(settle())
        except (OperationalError, InterfaceError):
            if delay is None:
                _keep_unsaved(unsaved)
                raise
            logger.warning("the database failed settling a token refresh; retrying")
            connection.close()
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def _asettle_durably(
    settle: Callable[[], _Outcome], *, unsaved: tuple[_Claim, oauth.OAuthTokens] | None = None
) -> str:
    for delay in (*SETTLE_RETRY_DELAYS, None):
        try:
            # database_sync_to_async closes a connection that failed, so the next
            # attempt opens a new one.
            return _raised(await database_sync_to_async(settle)())
        except (OperationalError, InterfaceError):
            if delay is None:
                _keep_unsaved(unsaved)
                raise
            logger.warning("the database failed settling a token refresh; retrying")
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _raised(outcome: _Outcome) -> str:
    step, error = outcome
    # Raised after the transaction so that what was recorded (needs_reauth,
    # last_error) commits.
    if error is not None:
        raise error
    return str(step)


def _keep_unsaved(unsaved: tuple[_Claim, oauth.OAuthTokens] | None) -> None:
    if unsaved is not None:
        claim = unsaved[0]
        _unsaved[claim.tenant_id] = unsaved
        with tenant_logging(claim.tenant_slug):
            logger.error(
                "the database did not take the refreshed GHL token; this process keeps it "
                "and stores it at the tenant's next refresh"
            )


def _claim_wait(tenant_id: int) -> None:
    deadline = time.monotonic() + REFRESH_CLAIM_TTL.total_seconds()
    while time.monotonic() < deadline:
        time.sleep(_CLAIM_POLL_SECONDS)
        if not _claim_live(_claim_row_now(tenant_id)):
            return


async def _aclaim_wait(tenant_id: int) -> None:
    deadline = time.monotonic() + REFRESH_CLAIM_TTL.total_seconds()
    while time.monotonic() < deadline:
        await asyncio.sleep(_CLAIM_POLL_SECONDS)
        if not _claim_live(await database_sync_to_async(_claim_row_now)(tenant_id)):
            return


def _claim_row_now(tenant_id: int) -> tuple[str, datetime | None] | None:
    rows = TenantSecret.objects.filter(tenant_id=tenant_id)
    return rows.values_list("refresh_claim", "refresh_claimed_at").first()


def _claim_live(row: tuple[str, datetime | None] | None, *, now: datetime | None = None) -> bool:
    if row is None or not row[0] or row[1] is None:
        return False
    return (now or timezone.now()) - row[1] < REFRESH_CLAIM_TTL


# The steps that touch the database, each one short transaction under the row lock.


def _claim_step(tenant_id: int, *, margin: timedelta, force: bool) -> _Step:
    with transaction.atomic():
        secret = _secret_of(tenant_id, lock=True)
        with tenant_logging(secret.tenant.slug):
            outcome = _claim_locked(secret, margin=margin, force=force)
    step, error = outcome
    if error is not None:
        raise error
    return step


def _claim_locked(secret: TenantSecret, *, margin: timedelta, force: bool) -> _Outcome:
    _require_usable(secret.tenant)
    _require_readable(secret)
    now = timezone.now()
    if not force and not secret.expires_within(margin, now=now):
        return secret.access_token, None  # refreshed by whoever held the claim before us
    if not secret.refresh_token:
        return _without_refresh_token(secret, now=now)
    if _claim_live((secret.refresh_claim, secret.refresh_claimed_at), now=now):
        return _Claimed(), None
    if not force and _cooling_down(secret, now=now):
        return _fallback(secret, now=now)
    claim = _Claim(
        tenant_id=secret.tenant_id,
        tenant_slug=secret.tenant.slug,
        refresh_token=secret.refresh_token,
        user_type=secret.user_type,
    )
    secret.refresh_claim = claim.token
    secret.refresh_claimed_at = now
    secret.save(update_fields=["refresh_claim", "refresh_claimed_at"])
    return claim, None


def _settle_success(claim: _Claim, tokens: oauth.OAuthTokens) -> _Outcome:
    with transaction.atomic():
        secret = _secret_of(claim.tenant_id, lock=True)
        with tenant_logging(claim.tenant_slug):
            if secret.refresh_token != claim.refresh_token:
                # New credentials arrived meanwhile (a sign-in): they are the newer grant.
                logger.warning("a sign-in stored new GHL tokens during the refresh; kept those")
                _release(secret, claim)
                return secret.access_token, None
            _store_refreshed(secret, tokens, now=timezone.now())
    return secret.access_token, None


def _settle_failure(claim: _Claim, exc: oauth.OAuthError) -> _Outcome:
    with transaction.atomic():
        secret = _secret_of(claim.tenant_id, lock=True)
        with tenant_logging(claim.tenant_slug):
            _release(secret, claim)
            now = timezone.now()
            if secret.refresh_token != claim.refresh_token:
                return secret.access_token, None  # a sign-in stored new tokens meanwhile
            if isinstance(exc, oauth.InvalidGrantError):
                reason = f"GHL rejected the refresh token: {exc.message}"
                return "", _mark_needs_reauth(secret, reason)
            _record_error(secret, exc.message, now=now)
            if exc.permanent:
                return "", TokenRefreshFailedError(
                    _failure_message(secret), tenant_slug=secret.tenant.slug, permanent=True
                )
            return _fallback(secret, now=now)


def _store_unsaved(tenant_id: int) -> None:
    unsaved = _unsaved.get(tenant_id)
    if unsaved is None:
        return
    claim, tokens = unsaved
    with transaction.atomic():
        secret = _secret_of(tenant_id, lock=True)
        with tenant_logging(claim.tenant_slug):
            if secret.refresh_token == claim.refresh_token:
                _store_refreshed(secret, tokens, now=timezone.now())
                logger.warning("stored a refreshed GHL token the database did not take before")
    _unsaved.pop(tenant_id, None)


def _release(secret: TenantSecret, claim: _Claim) -> None:
    if secret.refresh_claim == claim.token:
        secret.refresh_claim = ""
        secret.refresh_claimed_at = None
        secret.save(update_fields=["refresh_claim", "refresh_claimed_at"])


def _without_refresh_token(secret: TenantSecret, *, now: datetime) -> _Outcome:
    if not secret.is_expired(now=now):
        return secret.access_token, None
    return "", _mark_needs_reauth(
        secret, "The access token expired and no refresh token is stored."
    )


def _cooling_down(secret: TenantSecret, *, now: datetime) -> bool:
    return secret.last_error_at is not None and now - secret.last_error_at < (
        REFRESH_FAILURE_COOLDOWN
    )


def _fallback(secret: TenantSecret, *, now: datetime) -> _Outcome:
    if not secret.is_expired(now=now):
        logger.warning("GHL token refresh failed; using the stored token until it expires")
        return secret.access_token, None
    retry_after = REFRESH_FAILURE_COOLDOWN
    if secret.last_error_at is not None:
        retry_after = secret.last_error_at + REFRESH_FAILURE_COOLDOWN - now
    return "", TokenRefreshFailedError(
        _failure_message(secret),
        tenant_slug=secret.tenant.slug,
        retry_after=max(1.0, retry_after.total_seconds()),
    )


def _failure_message(secret: TenantSecret) -> str:
    return f"Could not refresh the GHL token of tenant {secret.tenant.slug!r}: {secret.last_error}"


def _record_error(secret: TenantSecret, description: str, *, now: datetime) -> None:
    logger.warning("GHL token refresh failed: %s", description)
    secret.last_error = description[:_MAX_REASON]
    secret.last_error_at = now
    secret.save(update_fields=["last_error", "last_error_at", "updated_at"])


def _mark_needs_reauth(secret: TenantSecret, reason: str) -> TenantNeedsReauthError:
    tenant = secret.tenant
    logger.warning("tenant needs re-authorisation: %s", reason)
    _record_error(secret, reason, now=timezone.now())
    tenant.status = Tenant.Status.NEEDS_REAUTH
    tenant.status_reason = reason[:_MAX_REASON]
    tenant.save(update_fields=["status", "status_reason", "updated_at"])
    return _needs_reauth(tenant)


def _store_refreshed(secret: TenantSecret, tokens: oauth.OAuthTokens, *, now: datetime) -> None:
    secret.access_token = tokens.access_token
    secret.refresh_token = tokens.refresh_token or secret.refresh_token
    if tokens.expires_in is not None:
        secret.expires_at = now + timedelta(seconds=tokens.expires_in)
    secret.scopes = tokens.scope or secret.scopes
    secret.token_type = tokens.token_type
    secret.version += 1
    secret.last_refreshed_at = now
    secret.last_error = ""
    secret.last_error_at = None
    secret.refresh_claim = ""
    secret.refresh_claimed_at = None
    secret.save()
    logger.info("refreshed the GHL token (version %s)", secret.version)
    credentials_changed_on_commit(
        tenant_id=secret.tenant_id,
        tenant_slug=secret.tenant.slug,
        version=secret.version,
        reason="refresh",
    )
