from __future__ import annotations

import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.config.test_settings import load_settings


def test_the_mcp_settings_have_working_defaults(monkeypatch):
    for name in ("MCP_SERVER_COMMAND", "MCP_CHILD_UID", "MCP_CHILD_GID", "MCP_MAX_CHILDREN"):
        monkeypatch.delenv(name, raising=False)
    loaded = load_settings(monkeypatch, DEBUG="1")
    assert loaded["MCP_SERVER_COMMAND"] == [sys.executable, "-m", "mcpbridge.ghl"]
    assert loaded["MCP_IDLE_TIMEOUT"] == 600
    assert loaded["MCP_REAP_INTERVAL"] == 60
    assert loaded["MCP_CALL_TIMEOUT"] == 60
    assert loaded["MCP_MAX_CHILDREN"] == 50
    assert loaded["MCP_CHILD_UID"] is None


def test_the_server_command_is_split_like_a_shell_would(monkeypatch):
    loaded = load_settings(
        monkeypatch, DEBUG="1", MCP_SERVER_COMMAND="node '/opt/ghl server/index.js' --stdio"
    )
    assert loaded["MCP_SERVER_COMMAND"] == ["node", "/opt/ghl server/index.js", "--stdio"]


def test_child_uid_and_gid_are_read_as_numbers(monkeypatch):
    loaded = load_settings(monkeypatch, DEBUG="1", MCP_CHILD_UID="10002", MCP_CHILD_GID="10002")
    assert (loaded["MCP_CHILD_UID"], loaded["MCP_CHILD_GID"]) == (10002, 10002)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MCP_CHILD_UID", "mcp"),
        ("MCP_MAX_CHILDREN", "0"),
        ("MCP_IDLE_TIMEOUT", "-5"),
        ("MCP_CALL_TIMEOUT", "soon"),
        ("MCP_SERVER_COMMAND", "python 'unclosed"),
    ],
)
def test_a_bad_mcp_setting_stops_the_start_with_its_name(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(monkeypatch, DEBUG="1", **{name: value})
