from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.oauth2.client import OAuth2Client
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2Adapter,
    OAuth2CallbackView,
    OAuth2LoginView,
)
from allauth.utils import get_request_param
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import MultipleObjectsReturned
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from tenants import oauth
from tenants.credentials import CredentialsError
from tenants.highlevel import lookups, pages
from tenants.highlevel.agency import (
    agency_grant_forget,
    agency_grant_recall,
    agency_location_choices,
)
from tenants.highlevel.connect import grant_attach, tenant_connect_agency_location
from tenants.oauth import OAuthTokens


class HighLevelOAuth2Adapter(OAuth2Adapter):  # type: ignore[misc]  # allauth ships no types
    provider_id = "highlevel"

    @property
    def authorize_url(self) -> str:
        return settings.GHL_MARKETPLACE_URL + "/oauth/chooselocation"

    @property
    def access_token_url(self) -> str:
        return oauth.token_url()

    def get_access_token_data(
        self,
        request: HttpRequest,
        app: SocialApp,
        client_: OAuth2Client,
        pkce_code_verifier: str | None = None,
    ) -> dict[str, Any]:
        code = get_request_param(request, "code")
        data = oauth.code_exchange(code=code, redirect_uri=client_.callback_url, app=app)
        self.did_fetch_access_token = True
        return data

    def parse_token(self, data: dict[str, Any]) -> SocialToken:
        # allauth keeps this object on the SocialLogin (and would serialise it
        # into the session for a signup form): it gets no secret. The tokens
        # travel in the grant, in memory, to the encrypted TenantSecret.
        return SocialToken(token="")

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        try:
            grant = oauth.grant_parse(kwargs.get("response"))
        except oauth.GrantInvalidError as exc:
            raise ProviderException(str(exc)) from None
        identity = {**grant.identity(), **lookups.user_profile(grant)}
        login = self.get_provider().sociallogin_from_response(request, identity)
        grant_attach(login, grant)
        return login


def _configured(request: HttpRequest) -> bool:
    try:
        get_adapter(request).get_app(request, provider=HighLevelOAuth2Adapter.provider_id)
    except (SocialApp.DoesNotExist, MultipleObjectsReturned):
        return False
    return True


def _unless_unconfigured(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _configured(request):
            return pages.not_configured(request)
        return view(request, *args, **kwargs)

    return wrapped


oauth2_login = _unless_unconfigured(OAuth2LoginView.adapter_view(HighLevelOAuth2Adapter))
oauth2_callback = _unless_unconfigured(OAuth2CallbackView.adapter_view(HighLevelOAuth2Adapter))


def _agency_picker(
    request: HttpRequest, grant: OAuthTokens, *, error: str = "", status: int = 200
) -> HttpResponse:
    choices, note = agency_location_choices(grant)
    return pages.agency_picker(request, choices, note=note, error=error, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def agency_locations(request: HttpRequest) -> HttpResponse:
    """An agency signed in: pick the sub-accounts to connect with the agency's token."""
    grant = agency_grant_recall(request)
    if grant is None:
        return pages.agency_expired(request)
    if request.method == "GET":
        return _agency_picker(request, grant)
    chosen = [item for item in request.POST.getlist("location") if item]
    unknown = set(chosen) - set(grant.approved_locations)
    if not chosen or unknown:
        return _agency_picker(
            request, grant, error="Choose one or more of the sub-accounts listed.", status=400
        )
    for location_id in chosen:
        try:
            connection = tenant_connect_agency_location(
                user=request.user, agency=grant, location_id=location_id
            )
        except (oauth.OAuthError, CredentialsError) as exc:
            messages.error(request, f"{location_id}: {exc.message}")
        else:
            messages.success(request, f"Connected {connection.tenant}.")
    agency_grant_forget(request)
    return redirect("home")
