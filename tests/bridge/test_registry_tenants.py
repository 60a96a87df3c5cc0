"""The registry on the real tenants models and services (the contract in tenants/)."""

from __future__ import annotations

import asyncio
import datetime
import os
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from mcpbridge import registry as registry_module
from mcpbridge.registry import get_registry
from mcpbridge.supervisor.errors import TenantUnavailableError
from mcpbridge.supervisor.processes import is_running
from tenants.credentials import upsert_credentials
from tenants.models import Tenant, TenantSecret
from tenants.services import tenant_disable, tenant_mark_uninstalled
from tenants.signals import credentials_changed
from tests.supervisor.conftest import python_for_nobody, server_command, unused_uid_block
from tests.supervisor.mcp_server import environment_of
from tests.supervisor.test_failures import wait_until
from tests.supervisor.test_processes import as_root

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def bridge(settings, tmp_path) -> AsyncIterator[None]:
    settings.MCP_SERVER_COMMAND = list(server_command())
    settings.MCP_RUN_DIR = str(tmp_path / "run")
    yield
    registry = registry_module._registries.get(asyncio.get_running_loop())
    if registry is not None:
        await registry.shutdown()


def make_tenant(slug: str, token: str) -> Tenant:
    tenant = Tenant.objects.create(
        slug=slug,
        name=slug.title(),
        location_id=f"loc-{slug}",
        company_id="company-1",
        status=Tenant.Status.ACTIVE,
    )
    TenantSecret.objects.create(
        tenant=tenant,
        access_token=token,
        refresh_token=f"refresh-{slug}-0123456789",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    return tenant


async def env_of(tenant: Tenant) -> tuple[int, dict[str, str]]:
    async with get_registry().acquire(tenant) as client:
        result = await client.call_tool("env")
    return client.pid, environment_of(result)


async def test_a_tenants_child_runs_on_its_stored_token_and_location(bridge):
    tenant = await sync_to_async(make_tenant)("acme", "access-acme-0123456789")
    _, env = await env_of(tenant)
    assert env["GHL_ACCESS_TOKEN"] == "access-acme-0123456789"
    assert env["GHL_LOCATION_ID"] == "loc-acme"


async def test_a_disabled_tenant_gets_no_child(bridge):
    tenant = await sync_to_async(make_tenant)("acme", "access-acme-0123456789")
    tenant.status = Tenant.Status.DISABLED
    with pytest.raises(TenantUnavailableError):
        await env_of(tenant)


async def test_a_changed_secret_moves_the_tenant_to_a_fresh_child(bridge):
    tenant = await sync_to_async(make_tenant)("acme", "access-acme-0123456789")
    old_pid, _ = await env_of(tenant)
    await sync_to_async(upsert_credentials)(
        {
            "tenantId": "acme",
            "locationId": "loc-acme",
            "accessToken": "access-acme-rotated-0123456789",
            "refreshToken": "refresh-acme-rotated-0123456789",
            "expiresIn": 86399,
        }
    )
    new_pid, env = await env_of(tenant)
    assert new_pid != old_pid
    assert env["GHL_ACCESS_TOKEN"] == "access-acme-rotated-0123456789"


@pytest.mark.parametrize("deactivate", [tenant_mark_uninstalled, tenant_disable])
async def test_uninstalling_or_disabling_a_tenant_closes_its_child_at_once(bridge, deactivate):
    tenant = await sync_to_async(make_tenant)("acme", "access-acme-0123456789")
    pid, _ = await env_of(tenant)
    await sync_to_async(deactivate)(tenant=tenant)
    assert await wait_until(lambda: not is_running(pid))
    await tenant.arefresh_from_db()
    with pytest.raises(TenantUnavailableError):
        await env_of(tenant)


async def test_a_raw_revoke_signal_closes_the_child(bridge):
    tenant = await sync_to_async(make_tenant)("acme", "access-acme-0123456789")
    pid, _ = await env_of(tenant)
    await sync_to_async(credentials_changed.send)(
        sender=Tenant,
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        version=99,
        reason="deleted",
        revoke=True,
    )
    assert await wait_until(lambda: not is_running(pid))


@as_root
async def test_under_a_uid_range_one_tenants_child_cannot_read_anothers_token(bridge, settings):
    uids = unused_uid_block()
    if uids is None:
        pytest.skip("the uids set aside for this test run are in use on this machine")
    settings.MCP_CHILD_UIDS = uids[:2]
    settings.MCP_SERVER_COMMAND = list(server_command(python=python_for_nobody() or ""))
    acme = await sync_to_async(make_tenant)("acme", "access-acme-0123456789")
    beta = await sync_to_async(make_tenant)("beta", "access-beta-0123456789")
    async with (
        get_registry().acquire(acme) as acme_child,
        get_registry().acquire(beta) as beta_child,
    ):
        probe = await acme_child.call_tool("read_file", {"path": f"/proc/{beta_child.pid}/environ"})
        owners = {os.stat(f"/proc/{c.pid}").st_uid for c in (acme_child, beta_child)}
    assert "access-beta-0123456789" not in probe.content[0].text
    assert probe.content[0].text == "refused: PermissionError"
    assert len(owners) == 2
    assert owners <= set(uids[:2])
