from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from mcpbridge import registry as registry_module
from mcpbridge.chat.agent.model_client import AgentConfig
from mcpbridge.chat.models import Conversation
from mcpbridge.chat.turns import chat_turn
from mcpbridge.sandbox import DENTAL, ROOFING, Sandbox
from tenants.credentials import upsert_credentials
from tenants.models import Membership, Tenant
from tests.chat.fake_model import MODEL, FakeModel
from tests.ways_in.conftest import sockets  # noqa: F401 (the websocket helpers, as a fixture)

FAKE_KEY = "sk-fake-model-key-0123456789abcdef"


@pytest.fixture
def fake_model() -> Iterator[FakeModel]:
    """A loopback OpenAI-compatible server answering from a script (see fake_model.py)."""
    with FakeModel() as fake:
        yield fake


@pytest.fixture
def model_settings(settings, fake_model: FakeModel) -> FakeModel:
    """The hub's settings pointed at the fake model (what a consumer's chat turn reads)."""
    settings.LLM_BASE_URL = fake_model.url
    settings.LLM_API_KEY = FAKE_KEY
    settings.LLM_MODEL = MODEL
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT = 5.0
    return fake_model


@pytest.fixture
def agent_config(fake_model: FakeModel) -> AgentConfig:
    return AgentConfig(
        base_url=fake_model.url,
        api_key=FAKE_KEY,
        model=MODEL,
        max_steps=4,
        timeout=5.0,
        max_retries=0,
        tool_result_limit=2_000,
        history_limit=60_000,
    )


@pytest.fixture
async def bridge(settings, tmp_path, ghl_sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    """The real registry, spawning the real GHL MCP server against the sandbox."""
    settings.GHL_BASE_URL = ghl_sandbox.url
    settings.MCP_RUN_DIR = str(tmp_path / "run")
    settings.MCP_CALL_TIMEOUT = 10.0
    yield ghl_sandbox
    registry = registry_module._registries.get(asyncio.get_running_loop())
    if registry is not None:
        await registry.shutdown()
    # The async ORM's shared thread keeps a connection that would stop PostgreSQL from
    # dropping the test database.
    await sync_to_async(connections.close_all)()


def connect_tenant(sandbox: Sandbox, slug: str = "dental", location_id: str = DENTAL) -> Tenant:
    """A tenant connected to a sandbox location, as a sign-in would leave it."""
    tenant, _ = upsert_credentials({**sandbox.mint_tokens(location_id), "tenantId": slug})
    tenant.name = {DENTAL: "Bright Smile Dental", ROOFING: "Peak Roofing"}.get(location_id, slug)
    tenant.save(update_fields=["name"])
    return tenant


@pytest.fixture
async def dental(bridge: Sandbox, user_factory) -> tuple[Tenant, Any]:
    """The sandbox's dental office as a tenant, and a member of it."""
    tenant = await sync_to_async(connect_tenant)(bridge)
    user = await sync_to_async(user_factory)("dana")
    await Membership.objects.acreate(user=user, tenant=tenant, role=Membership.Role.MEMBER)
    return tenant, user


@dataclass
class Events:
    """Every event a turn emitted, in order."""

    items: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, event: dict[str, Any]) -> None:
        self.items.append(dict(event))
        self.changed.set()

    async def until(self, predicate: Callable[[Events], Any], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.items if event["type"] == kind]

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.items]

    @property
    def text(self) -> str:
        return "".join(event["text"] for event in self.of("chat.delta"))


@pytest.fixture
def events() -> Callable[[], Events]:
    return Events


Turn = Callable[..., Awaitable[Conversation | None]]


@pytest.fixture
def turn(dental: tuple[Tenant, Any], agent_config: AgentConfig) -> Turn:
    """``chat_turn`` in the dental office on the fake model, by its member unless told:
    ``await turn("Hi", emit=seen, conversation_id=pk)``."""
    tenant, member = dental

    def run(
        text: Any,
        *,
        emit: Events | None = None,
        conversation_id: int | None = None,
        user: Any = member,
        config: AgentConfig = agent_config,
    ) -> Awaitable[Conversation | None]:
        return chat_turn(
            tenant=tenant,
            user=user,
            conversation_id=conversation_id,
            text=text,
            emit=emit if emit is not None else Events(),
            config=config,
        )

    return run


# --- browser tests --------------------------------------------------------------------


@pytest.fixture
def live_sandbox(_ghl_sandbox_server: Sandbox) -> Sandbox:
    """The sandbox a module's live hub talks to, as it is (not reset between its tests)."""
    return _ghl_sandbox_server


@pytest.fixture(scope="module")
def chromium(tmp_path_factory) -> Iterator[Any]:
    """One headless Chromium (Debian's) with a fresh profile, for a module of tests.

    Not longer: Playwright's sync API keeps an event loop running in this thread, and
    the asyncio tests after the module need the thread free."""
    from tests.chat.live import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        yield context
        context.close()


@pytest.fixture
def page(chromium) -> Iterator[Any]:
    """A new tab with no cookies; script errors on the page fail the test."""
    chromium.clear_cookies()
    tab = chromium.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert errors == [], f"script errors on the page: {errors}"
