from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class ClosedSignupAccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth ships no types
    """Local accounts are for staff and are created by staff; tenants sign in with HighLevel."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
