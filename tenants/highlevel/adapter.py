"""allauth's hooks for HighLevel: open social signup, tokens stored at sign-in, clear errors."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.internal.emailkit import valid_email_or_none
from allauth.account.utils import user_email
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.base.constants import AuthError
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse

from tenants.credentials import CredentialsError
from tenants.highlevel import pages
from tenants.highlevel.connect import (
    agency_grant_pending,
    grant_of,
    tenant_connect_agency_location,
    tenant_connect_location_grant,
)
from tenants.oauth import OAuthError, OAuthTokens

logger = logging.getLogger(__name__)

PROVIDER_ID = "highlevel"


class HighLevelSocialAccountAdapter(DefaultSocialAccountAdapter):  # type: ignore[misc]  # allauth ships no types
    """Signing in with HighLevel signs a tenant user up, and connects the sub-account.

    Local signup stays closed (``config.accounts``); only HighLevel may create
    accounts, and without a form: GHL vouches for the user.
    """

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return sociallogin.account.provider == PROVIDER_ID

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return sociallogin.account.provider == PROVIDER_ID

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: Any) -> Any:
        user = super().populate_user(request, sociallogin, data)
        email = valid_email_or_none(sociallogin.account.extra_data.get("email"))
        if email:
            user_email(user, email)
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        # A returning user: store the tokens before the login completes, so a
        # failure shows a page instead of a signed-in user without a tenant.
        if sociallogin.is_existing and sociallogin.user.is_active:
            self._connect(request, sociallogin, sociallogin.user)

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> Any:
        # A new user and its tenant come into being together, or not at all.
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form=form)
            self._connect(request, sociallogin, user)
        return user

    def _connect(self, request: HttpRequest, sociallogin: SocialLogin, user: Any) -> None:
        if sociallogin.account.provider != PROVIDER_ID:
            return
        grant = grant_of(sociallogin)
        if grant is None:
            raise ImmediateHttpResponse(_problem_start_again(request))
        try:
            if grant.is_agency:
                self._connect_agency(request, sociallogin, user, grant)
            else:
                connection = tenant_connect_location_grant(user=user, grant=grant)
                messages.success(request, f"Connected {connection.tenant}.")
        except (OAuthError, CredentialsError) as exc:
            raise ImmediateHttpResponse(_problem_from(request, exc)) from None

    def _connect_agency(
        self, request: HttpRequest, sociallogin: SocialLogin, user: Any, grant: OAuthTokens
    ) -> None:
        # An agency token speaks for many sub-accounts: each one the user picks
        # is connected with its own sub-account token from /oauth/locationToken.
        if not grant.approved_locations:
            raise ImmediateHttpResponse(pages.agency_without_locations(request))
        if len(grant.approved_locations) == 1:
            connection = tenant_connect_agency_location(
                user=user, agency=grant, location_id=grant.approved_locations[0]
            )
            messages.success(request, f"Connected {connection.tenant}.")
            return
        # Kept once the user is signed in (see receivers): signing in may flush the session.
        agency_grant_pending(sociallogin, grant)
        sociallogin.state["next"] = reverse("highlevel_agency")

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: Exception | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        if getattr(provider, "id", None) != PROVIDER_ID:
            return
        raise ImmediateHttpResponse(
            _problem_for_callback(request, error, exception, extra_context or {})
        )


def _problem_start_again(request: HttpRequest) -> Any:
    return pages.problem(
        request,
        title="Sign-in interrupted",
        message="The sign-in with HighLevel did not finish. Please start again.",
        status=400,
    )


def _problem_from(request: HttpRequest, exc: OAuthError | CredentialsError) -> Any:
    if isinstance(exc, OAuthError) and not exc.permanent:
        return pages.problem(
            request, title="HighLevel is not answering", message=exc.message, status=502
        )
    logger.warning("HighLevel sign-in refused: %s", exc.message)
    return pages.problem(
        request, title="HighLevel refused the sign-in", message=exc.message, status=400
    )


def _problem_for_callback(
    request: HttpRequest, error: str | None, exception: Exception | None, context: dict[str, Any]
) -> Any:
    if isinstance(exception, OAuthError | CredentialsError):
        return _problem_from(request, exception)
    if isinstance(exception, ProviderException):
        return pages.problem(
            request, title="HighLevel's answer was incomplete", message=str(exception), status=502
        )
    if exception is not None:
        logger.warning("HighLevel sign-in failed: %s", type(exception).__name__)
        return pages.problem(
            request,
            title="HighLevel is not answering",
            message="HighLevel could not be reached. Please try again in a moment.",
            status=502,
        )
    if "state" not in context:
        return pages.problem(
            request,
            title="This sign-in link is not valid here",
            message=(
                "It expired, was already used, or was started in another browser. "
                "Please start again from this page."
            ),
            status=400,
        )
    return _problem_from_query(request, error)


def _problem_from_query(request: HttpRequest, error: str | None) -> Any:
    code = request.GET.get("error", "")
    description = request.GET.get("error_description", "")[:300]
    if error == AuthError.CANCELLED:
        return pages.problem(
            request,
            title="Sign-in cancelled",
            message="You cancelled on HighLevel's screen. Nothing was changed.",
            status=400,
        )
    if code:
        return pages.problem(
            request,
            title="HighLevel reported an error",
            message=f"HighLevel answered {code!r}" + (f": {description}" if description else "."),
            status=400,
        )
    return pages.problem(
        request,
        title="HighLevel sent no authorisation code",
        message="The answer from HighLevel was missing its code. Please start again.",
        status=400,
    )
