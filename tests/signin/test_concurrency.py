"""Users of one new location signing in at the same moment: one tenant, exactly one owner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tenants.highlevel.connect import tenant_connect
from tenants.models import Membership, Tenant
from tenants.oauth import grant_parse

USERS = 8

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks (SELECT ... FOR UPDATE) need PostgreSQL; set DATABASE_URL",
    ),
]


def test_simultaneous_first_sign_ins_make_one_owner_and_members() -> None:
    users = [
        get_user_model().objects.create_user(username=f"user{n}", password="pw")
        for n in range(USERS)
    ]
    start = threading.Barrier(USERS)

    def connect(n: int) -> str:
        grant = grant_parse(
            {
                "access_token": f"access-{n}",
                "refresh_token": f"refresh-{n}",
                "expires_in": 86399,
                "userType": "Location",
                "locationId": "loc-race",
                "companyId": "cmp-race",
                "userId": f"ghl-user-{n}",
            }
        )
        try:
            start.wait(timeout=10)
            return tenant_connect(user=users[n], grant=grant).membership.role
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=USERS) as pool:
        roles = list(pool.map(connect, range(USERS)))

    assert Tenant.objects.count() == 1
    assert sorted(roles) == [Membership.Role.MEMBER] * (USERS - 1) + [Membership.Role.OWNER]
    assert Membership.objects.filter(role=Membership.Role.OWNER).count() == 1
    assert Tenant.objects.get().secret.version == USERS
