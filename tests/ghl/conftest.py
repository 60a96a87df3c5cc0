from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import mcp.types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcpbridge.ghl.catalogue import Catalogue, catalogue_load
from mcpbridge.ghl.config import Settings
from mcpbridge.ghl.server import server_build
from mcpbridge.ghl.tools import toolset_build
from mcpbridge.sandbox import DENTAL, Sandbox
from tests.conftest import REPO_ROOT


def child_env(sandbox: Sandbox, **overrides: str) -> dict[str, str]:
    env = {
        "GHL_BASE_URL": sandbox.url,
        "GHL_LOCATION_ID": DENTAL,
        "GHL_ACCESS_TOKEN": sandbox.mint_token(DENTAL),
        "LANG": "C.UTF-8",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@asynccontextmanager
async def stdio_child(
    env: dict[str, str],
    errlog: TextIO | None = None,
    mode: str = "auto",
    args: tuple[str, ...] = (),
) -> AsyncIterator[Client]:
    """``python -m mcpbridge.ghl`` as a real subprocess, spoken to over stdio by the mcp client."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcpbridge.ghl", *args], env=env, cwd=REPO_ROOT
    )
    transport = stdio_client(params, errlog=errlog or sys.stderr)
    async with Client(transport, mode=mode) as client:
        yield client


@asynccontextmanager
async def inproc_child(
    sandbox: Sandbox, *, toolset: str = "core", token: str | None = None, **settings: Any
) -> AsyncIterator[Client]:
    """The same server in this process (no stdio), for fast, detailed tool tests."""
    config = Settings(
        access_token=token or sandbox.mint_token(DENTAL),
        location_id=DENTAL,
        base_url=sandbox.url,
        toolset=toolset,
        **settings,
    )
    catalogue = catalogue_load()
    server = server_build(config, catalogue, toolset_build(toolset, catalogue))
    async with Client(server) as client:
        yield client


async def all_tools(client: Client) -> list[types.Tool]:
    """Every page of tools/list, following the cursor."""
    page = await client.list_tools()
    tools = list(page.tools)
    while page.next_cursor:
        page = await client.list_tools(cursor=page.next_cursor)
        tools.extend(page.tools)
    return tools


def result_json(result: types.CallToolResult) -> Any:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def result_text(result: types.CallToolResult) -> str:
    return result.content[0].text


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return catalogue_load()


def spec_dir() -> Path | None:
    for base in (REPO_ROOT.parent, REPO_ROOT.parent.parent):
        candidate = base / "shared" / "ghl-openapi"
        if candidate.is_dir():
            return candidate
    return None
