from __future__ import annotations

from typing import Any

from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider
from django.conf import settings

from tenants.highlevel.views import HighLevelOAuth2Adapter


class HighLevelAccount(ProviderAccount):  # type: ignore[misc]  # allauth ships no types
    def to_str(self) -> str:
        data = self.account.extra_data
        return data.get("name") or data.get("email") or super().to_str()


class HighLevelProvider(OAuth2Provider):  # type: ignore[misc]  # allauth ships no types
    """GoHighLevel's marketplace OAuth 2.0 (authorisation code), one sub-account per sign-in.

    The ``extra_data`` kept on the SocialAccount is the identity GHL gave
    (user, agency, location, user type, scopes, name, email): never a token.
    """

    id = "highlevel"
    name = "HighLevel"
    account_class = HighLevelAccount
    oauth2_adapter_class = HighLevelOAuth2Adapter

    def get_default_scope(self) -> list[str]:
        return list(settings.GHL_OAUTH_SCOPES)

    def extract_uid(self, data: dict[str, Any]) -> str:
        return str(data["userId"])

    def extract_common_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        # No "email" here: allauth would turn it into an EmailAddress, and an
        # address already used by another account sends the sign-in to a
        # signup form. The adapter copies it onto the user instead.
        return {
            "first_name": data.get("firstName") or "",
            "last_name": data.get("lastName") or "",
            "name": data.get("name") or "",
        }


provider_classes = [HighLevelProvider]
