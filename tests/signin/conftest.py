from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client

from mcpbridge.sandbox import APP_ID, BEN, DENTAL, Sandbox
from tenants import oauth
from tests.tenants.conftest import changes  # noqa: F401 (a fixture, offered here too)

CALLBACK_PATH = "/accounts/highlevel/login/callback/"
# The browser: one pooled client, as a browser keeps its connections.
BROWSER = httpx.Client(timeout=10)
_HIDDEN = re.compile(r"<input type='hidden' name='([^']+)' value='([^']*)'>")


@pytest.fixture
def highlevel(settings, monkeypatch, ghl_sandbox: Sandbox) -> Sandbox:
    """The web app configured against the sandbox, as `make demo` does."""
    state = ghl_sandbox.state
    settings.GHL_BASE_URL = ghl_sandbox.url
    settings.GHL_MARKETPLACE_URL = ghl_sandbox.url
    settings.GHL_CLIENT_ID = state.client_id
    settings.GHL_CLIENT_SECRET = state.client_secret
    settings.GHL_APP_ID = APP_ID
    settings.SOCIALACCOUNT_PROVIDERS = {
        "highlevel": {
            "APPS": [{"client_id": state.client_id, "secret": state.client_secret}],
            "SCOPE": settings.GHL_OAUTH_SCOPES,
        }
    }
    settings.GHL_WEBHOOK_PUBLIC_KEY = ghl_sandbox.webhooks.public_key_pem
    settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY = ghl_sandbox.webhooks.legacy_public_key_pem
    monkeypatch.setattr(oauth, "RETRY_DELAYS", (0.01,))
    return ghl_sandbox


@dataclass
class Authorisation:
    """The marketplace redirect the app answered with, and what it asked for."""

    url: str
    params: dict[str, str]


def authorisation_start(client: Client, next_url: str = "/") -> Authorisation:
    response = client.post(f"/accounts/highlevel/login/?next={next_url}")
    assert response.status_code == 302, response.content[:500]
    url = response.headers["Location"]
    params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    return Authorisation(url=url, params=params)


def consent(authorisation: Authorisation, *, location_id: str = DENTAL, user_id: str = BEN) -> str:
    """What a browser does on the sandbox's consent page: read the form, pick, allow.

    Returns the callback path (with its query) the sandbox redirects to.
    """
    page = BROWSER.get(authorisation.url)
    assert page.status_code == 200, page.text[:500]
    form = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    form.update(location_id=location_id, user_id=user_id, decision="allow")
    action = authorisation.url.split("?", 1)[0]
    answer = BROWSER.post(action, data=form)
    assert answer.status_code == 302, answer.text[:500]
    return callback_path(answer.headers["location"])


def callback_path(location: str) -> str:
    parts = urlsplit(location)
    assert parts.path == CALLBACK_PATH, location
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def sign_in() -> Callable[..., Any]:
    """The whole dance for ``client``: authorise redirect, consent, callback."""

    def run(client: Client, *, location_id: str = DENTAL, user_id: str = BEN) -> Any:
        authorisation = authorisation_start(client)
        path = consent(authorisation, location_id=location_id, user_id=user_id)
        return client.get(path)

    return run
