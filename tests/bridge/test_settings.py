from __future__ import annotations

import os
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from mcpbridge.registry import supervisor_config
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


def test_a_child_uid_range_is_read_with_both_ends_included(monkeypatch):
    loaded = load_settings(monkeypatch, DEBUG="1", MCP_CHILD_UIDS=" 20000 - 20999 ")
    assert loaded["MCP_CHILD_UIDS"] == range(20000, 21000)
    assert load_settings(monkeypatch, DEBUG="1", MCP_CHILD_UIDS="")["MCP_CHILD_UIDS"] is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("20000", "a uid range such as 20000-20999"),
        ("20000-", "a uid range such as 20000-20999"),
        ("mcp-mcp2", "a uid range such as 20000-20999"),
        ("-5-10", "a uid range such as 20000-20999"),
        ("20999-20000", "first uid is not above its last"),
        ("0-999", "leaves out uid 0"),
        ("20000-4294967295", "uids up to 4294967294"),
    ],
)
def test_a_malformed_or_reversed_uid_range_or_one_holding_root_stops_the_start(
    monkeypatch, value, why
):
    with pytest.raises(ImproperlyConfigured, match=f"MCP_CHILD_UIDS must be .*{why}"):
        load_settings(monkeypatch, DEBUG="1", MCP_CHILD_UIDS=value)


def test_a_uid_range_holding_the_servers_own_uid_stops_the_start(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 20500)
    with pytest.raises(ImproperlyConfigured, match="leaves out this server's own uid 20500"):
        load_settings(monkeypatch, DEBUG="1", MCP_CHILD_UIDS="20000-20999")


@pytest.mark.parametrize("single", ["MCP_CHILD_UID", "MCP_CHILD_GID"])
def test_a_uid_range_and_a_single_child_uid_or_gid_stop_the_start(monkeypatch, single):
    with pytest.raises(ImproperlyConfigured, match="leave MCP_CHILD_UID and MCP_CHILD_GID unset"):
        load_settings(monkeypatch, DEBUG="1", MCP_CHILD_UIDS="20000-20999", **{single: "10002"})


def test_the_supervisor_gets_the_uid_range_from_the_settings(settings):
    settings.MCP_CHILD_UIDS = range(20000, 20010)
    config = supervisor_config()
    assert (config.uids, config.uid, config.gid) == (range(20000, 20010), None, None)
