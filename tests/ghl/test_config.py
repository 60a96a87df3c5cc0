from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mcpbridge.ghl.config import DEFAULT_BASE_URL, ConfigError, settings_from_env
from tests.conftest import REPO_ROOT


def test_it_reads_the_contract_variables() -> None:
    settings = settings_from_env(
        {"GHL_ACCESS_TOKEN": "tok", "GHL_LOCATION_ID": "loc", "GHL_TOOLSET": "full"}
    )
    assert (settings.access_token, settings.location_id, settings.base_url, settings.toolset) == (
        "tok",
        "loc",
        DEFAULT_BASE_URL,
        "full",
    )
    assert settings_from_env({"GHL_API_KEY": "key", "GHL_LOCATION_ID": "loc"}).access_token == "key"


def test_log_levels_are_read_in_any_case() -> None:
    environ = {"GHL_ACCESS_TOKEN": "tok", "GHL_LOCATION_ID": "loc", "GHL_LOG_LEVEL": "warning"}
    assert settings_from_env(environ).log_level == "WARNING"


def test_the_token_is_not_in_the_settings_repr() -> None:
    settings = settings_from_env({"GHL_ACCESS_TOKEN": "tok-very-secret", "GHL_LOCATION_ID": "loc"})
    assert "tok-very-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GHL_LOCATION_ID": "loc"}, "missing GHL_ACCESS_TOKEN (or GHL_API_KEY)"),
        ({"GHL_ACCESS_TOKEN": "tok"}, "missing GHL_LOCATION_ID"),
        (
            {"GHL_ACCESS_TOKEN": "tok", "GHL_LOCATION_ID": "loc", "GHL_BASE_URL": "ftp://x"},
            "GHL_BASE_URL must be an http(s) URL",
        ),
        (
            {"GHL_ACCESS_TOKEN": "tok", "GHL_LOCATION_ID": "loc", "GHL_TIMEOUT": "soon"},
            "GHL_TIMEOUT must be a number",
        ),
        (
            {"GHL_ACCESS_TOKEN": "tok", "GHL_LOCATION_ID": "loc", "GHL_RATE_LIMIT": "0"},
            "GHL_RATE_LIMIT must be at least 1",
        ),
        (
            {"GHL_ACCESS_TOKEN": "tok", "GHL_LOCATION_ID": "loc", "GHL_LOG_LEVEL": "verbose"},
            "GHL_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'verbose'",
        ),
        (
            {"GHL_ACCESS_TOKEN": "tok", "GHL_LOCATION_ID": "loc", "GHL_CALL_BUDGET": "0"},
            "GHL_CALL_BUDGET must be at least 0.1",
        ),
    ],
)
def test_bad_environments_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from_env(environ)


def test_the_server_imports_nothing_of_django_or_the_project() -> None:
    probe = (
        "import json, sys\n"
        "import mcpbridge.ghl.server\n"
        "roots = {'django', 'config', 'tenants', 'channels'}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in roots"
        " or (m.startswith('mcpbridge.') and not m.startswith('mcpbridge.ghl')))\n"
        "print(json.dumps(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert json.loads(result.stdout) == []
