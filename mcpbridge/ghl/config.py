"""Configuration of the GHL MCP server, read from the environment only."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mcpbridge.ghl.errors import GhlServerError

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"


class ConfigError(GhlServerError):
    """The environment does not describe a usable server; the message says what to set."""

    code = "config_error"
    permanent = True


@dataclass(frozen=True, slots=True)
class Settings:
    access_token: str = field(repr=False)
    location_id: str
    base_url: str = DEFAULT_BASE_URL
    toolset: str = "core"
    timeout: float = 30.0
    # All attempts of one call together (waits and retries included) stay under this,
    # which must stay under the bridge's MCP_CALL_TIMEOUT (60 s by default).
    call_budget: float = 50.0
    # GHL allows 100 requests per 10 s per location and app; the web app spends
    # some of the same budget, so a child stays well below it.
    max_requests: int = 90
    rate_window: float = 10.0
    max_retries: int = 2
    max_rate_limit_wait: float = 30.0
    max_result_chars: int = 60_000
    log_level: str = "INFO"


def _text(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = _text(environ, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _base_url(environ: Mapping[str, str]) -> str:
    url = _text(environ, "GHL_BASE_URL") or DEFAULT_BASE_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"GHL_BASE_URL must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """Read the server's settings; raise ConfigError naming what is missing or wrong."""
    token = _text(environ, "GHL_ACCESS_TOKEN") or _text(environ, "GHL_API_KEY")
    location_id = _text(environ, "GHL_LOCATION_ID")
    missing = [
        name
        for name, value in (
            ("GHL_ACCESS_TOKEN (or GHL_API_KEY)", token),
            ("GHL_LOCATION_ID", location_id),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"missing {' and '.join(missing)} in the environment")
    return Settings(
        access_token=token,
        location_id=location_id,
        base_url=_base_url(environ),
        toolset=_text(environ, "GHL_TOOLSET") or "core",
        timeout=_number(environ, "GHL_TIMEOUT", 30.0, minimum=0.1),
        max_requests=int(_number(environ, "GHL_RATE_LIMIT", 90, minimum=1)),
        rate_window=_number(environ, "GHL_RATE_WINDOW", 10.0, minimum=0.01),
        max_retries=int(_number(environ, "GHL_MAX_RETRIES", 2, minimum=0)),
        max_rate_limit_wait=_number(environ, "GHL_MAX_RATE_LIMIT_WAIT", 30.0, minimum=0),
        max_result_chars=int(_number(environ, "GHL_MAX_RESULT_CHARS", 60_000, minimum=1_000)),
        call_budget=_number(environ, "GHL_CALL_BUDGET", 50.0, minimum=0.1),
        log_level=_log_level(environ),
    )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(environ: Mapping[str, str]) -> str:
    raw = _text(environ, "GHL_LOG_LEVEL") or "INFO"
    level = raw.upper()
    if level not in LOG_LEVELS or not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"GHL_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level
