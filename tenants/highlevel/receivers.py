from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from tenants.highlevel.agency import agency_grant_keep
from tenants.highlevel.connect import agency_grant_pending_of


@receiver(user_logged_in, dispatch_uid="highlevel.agency_grant_keep")
def agency_grant_keep_after_login(
    sender: Any, request: Any, user: Any, sociallogin: Any = None, **kwargs: Any
) -> None:
    grant = agency_grant_pending_of(sociallogin) if sociallogin is not None else None
    if grant is not None:
        agency_grant_keep(request, grant, user_pk=user.pk)
