"""The Django side of the bridge, with plain stand-ins for the tenants contract.

``tests/bridge/test_registry_tenants.py`` runs the same paths on the real models.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from mcpbridge import registry as registry_module
from mcpbridge.registry import get_registry, health_detail, on_credentials_changed
from mcpbridge.supervisor.errors import ChildStoppedError, TenantUnavailableError
from mcpbridge.supervisor.processes import is_running
from tests.supervisor.conftest import server_command
from tests.supervisor.mcp_server import environment_of
from tests.supervisor.test_failures import wait_until


@dataclass(frozen=True)
class StandInTenant:
    pk: int
    slug: str
    location_id: str
    is_usable: bool = True


@dataclass(frozen=True)
class StandInCredentials:
    access_token: str
    refresh_token: str
    location_id: str
    version: int


class CredentialStore:
    def __init__(self) -> None:
        self.secrets: dict[int, StandInCredentials] = {}

    def add(self, tenant: StandInTenant, version: int = 1) -> StandInCredentials:
        token = f"eyJhbGciOiJIUzI1NiJ9.{tenant.slug}-v{version}.c2lnbmF0dXJl"
        secret = StandInCredentials(token, f"refresh-{tenant.slug}", tenant.location_id, version)
        self.secrets[tenant.pk] = secret
        return secret

    async def version(self, tenant: StandInTenant) -> int:
        return (await self.credentials(tenant)).version

    async def credentials(self, tenant: StandInTenant) -> StandInCredentials:
        if tenant.pk not in self.secrets:
            raise TenantUnavailableError()
        return self.secrets[tenant.pk]


ACME = StandInTenant(pk=1, slug="acme", location_id="loc-acme")
GLOBEX = StandInTenant(pk=2, slug="globex", location_id="loc-globex")


@pytest.fixture
async def store(monkeypatch, settings, tmp_path) -> AsyncIterator[CredentialStore]:
    settings.MCP_SERVER_COMMAND = list(server_command())
    settings.MCP_RUN_DIR = str(tmp_path / "run")
    settings.GHL_BASE_URL = "http://127.0.0.1:9"
    credentials = CredentialStore()
    monkeypatch.setattr(registry_module, "tenant_secret_version", credentials.version)
    monkeypatch.setattr(registry_module, "tenant_child_credentials", credentials.credentials)
    yield credentials
    registry = registry_module._registries.get(asyncio.get_running_loop())
    if registry is not None:
        await registry.shutdown()


async def child_env(tenant: StandInTenant) -> tuple[int, dict[str, str]]:
    async with get_registry().acquire(tenant) as client:
        result = await client.call_tool("env")
    return client.pid, environment_of(result)


async def test_a_tenants_child_gets_its_token_location_and_base_url(store: CredentialStore):
    secret = store.add(ACME)
    _, env = await child_env(ACME)
    assert env["GHL_ACCESS_TOKEN"] == env["GHL_API_KEY"] == secret.access_token
    assert env["GHL_LOCATION_ID"] == "loc-acme"
    assert env["GHL_BASE_URL"] == "http://127.0.0.1:9"
    assert secret.refresh_token not in json.dumps(env)


async def test_two_tenants_never_share_a_child(store: CredentialStore):
    store.add(ACME)
    globex = store.add(GLOBEX)
    acme_pid, acme_env = await child_env(ACME)
    globex_pid, _ = await child_env(GLOBEX)
    assert acme_pid != globex_pid
    assert globex.access_token not in json.dumps(acme_env)


async def test_the_registry_is_one_per_event_loop_and_follows_settings(store, settings):
    settings.MCP_MAX_CHILDREN = 7
    settings.MCP_CALL_TIMEOUT = 12.5
    registry = get_registry()
    assert get_registry() is registry
    assert registry.supervisor.config.max_children == 7
    assert registry.supervisor.config.call_timeout == 12.5


async def test_an_unusable_tenant_gets_tenant_unavailable_and_no_child(store: CredentialStore):
    store.add(ACME)
    with pytest.raises(TenantUnavailableError) as failure:
        await child_env(replace(ACME, is_usable=False))
    assert failure.value.code == "tenant_unavailable"
    assert list(get_registry().supervisor.live_pids()) == []


async def test_a_tenant_without_credentials_gets_tenant_unavailable(store: CredentialStore):
    with pytest.raises(TenantUnavailableError):
        await child_env(ACME)


async def test_a_new_credential_version_moves_the_tenant_to_a_fresh_child(store):
    store.add(ACME, version=1)
    old_pid, _ = await child_env(ACME)
    new_secret = store.add(ACME, version=2)
    new_pid, env = await child_env(ACME)
    assert new_pid != old_pid
    assert env["GHL_ACCESS_TOKEN"] == new_secret.access_token
    assert await wait_until(lambda: not is_running(old_pid))


async def test_the_credentials_changed_signal_recycles_from_another_thread(store):
    store.add(ACME)
    old_pid, _ = await child_env(ACME)
    await asyncio.to_thread(
        on_credentials_changed,
        sender=None,
        tenant_id=ACME.pk,
        tenant_slug="acme",
        version=2,
        reason="refresh",
        revoke=False,
    )
    assert await wait_until(lambda: not is_running(old_pid))
    assert (await child_env(ACME))[0] != old_pid


async def test_a_revoking_signal_closes_the_child_during_its_call(store: CredentialStore):
    store.add(ACME)
    async with get_registry().acquire(ACME) as client:
        call = asyncio.create_task(client.call_tool("sleep", {"seconds": 5}))
        await asyncio.sleep(0.1)
        on_credentials_changed(
            sender=None,
            tenant_id=ACME.pk,
            tenant_slug="acme",
            version=2,
            reason="uninstall",
            revoke=True,
        )
        with pytest.raises(ChildStoppedError):
            await call


async def test_health_detail_counts_this_workers_children_by_state(store: CredentialStore):
    store.add(ACME)
    store.add(GLOBEX)
    await child_env(ACME)
    await child_env(GLOBEX)
    detail = await health_detail()
    assert detail == {"children": 2, "max_children": 50, "states": {"running": 2}}
    assert "acme" not in json.dumps(detail)


@pytest.mark.django_db(transaction=True)
async def test_health_shows_the_mcp_detail(store: CredentialStore, async_client):
    store.add(ACME)
    await child_env(ACME)
    response = await async_client.get("/health")
    assert response.json()["detail"]["mcp"]["states"] == {"running": 1}


@pytest.fixture
async def db_threads() -> AsyncIterator[None]:
    """Close what the ORM opened in asgiref's worker thread, so the test database can go."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_staff_see_the_children_page_and_can_stop_a_child(
    store: CredentialStore, async_client, django_user_model, db_threads
):
    staff = await django_user_model.objects.acreate(username="staff", is_staff=True)
    store.add(ACME)
    pid, _ = await child_env(ACME)
    await async_client.aforce_login(staff)

    page = await async_client.get("/admin/mcp/children/")
    stopped = await async_client.post("/admin/mcp/children/", {"key": "1"})

    assert page.status_code == 200
    body = page.content.decode()
    assert "acme" in body
    assert str(pid) in body
    assert "running" in body
    assert re.search(r"<td>\d+\.\d MiB</td>", body)
    assert store.secrets[1].access_token not in body
    assert stopped.status_code == 302
    assert not is_running(pid)


@pytest.mark.django_db(transaction=True)
async def test_the_children_page_is_for_staff_only(
    store, async_client, django_user_model, db_threads
):
    member = await django_user_model.objects.acreate(username="member")
    store.add(ACME)
    pid, _ = await child_env(ACME)

    anonymous = await async_client.get("/admin/mcp/children/")
    await async_client.aforce_login(member)
    not_staff = await async_client.get("/admin/mcp/children/")
    stop = await async_client.post("/admin/mcp/children/", {"key": "1"})

    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]
    assert not_staff.status_code == 302
    assert stop.status_code == 302
    assert is_running(pid)
