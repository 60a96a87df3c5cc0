from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tenants import oauth
from tenants.signals import credentials_changed

CLIENT_ID = "hub-client-id"
CLIENT_SECRET = "hub-client-secret-0123456789"
INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "Invalid grant: refresh token is invalid",
}


@dataclass
class TokenEndpointState:
    """What the loopback GHL token endpoint knows and saw."""

    location_id: str = "loc-acme-0001"
    live_refresh_tokens: set[str] = field(default_factory=set)
    refresh_requests: list[dict[str, str]] = field(default_factory=list)
    # Scripted answers served before the normal behaviour: (status, body) or "drop".
    script: deque[Any] = field(default_factory=deque)
    delay: float = 0.0
    # Run after GHL has rotated the pair and before it answers (a fault at that moment).
    before_answer: Any = None
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]] | str:
        with self.lock:
            self.refresh_requests.append(form)
            if self.script:
                return self.script.popleft()
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                return 401, {"error": "invalid_client", "error_description": "Bad client."}
            if form.get("grant_type") != "refresh_token":
                return 422, {"statusCode": 422, "message": "unsupported grant_type"}
            # Like GHL: a refresh token works once; the refresh kills it.
            if form.get("refresh_token") not in self.live_refresh_tokens:
                return 400, INVALID_GRANT
            self.live_refresh_tokens.discard(form["refresh_token"])
            n = next(self.counter)
            self.live_refresh_tokens.add(f"refresh-{n}")
            return 200, {
                "access_token": f"access-{n}",
                "token_type": "Bearer",
                "expires_in": 86399,
                "refresh_token": f"refresh-{n}",
                "scope": "contacts.readonly contacts.write",
                "userType": "Location",
                "locationId": self.location_id,
                "companyId": "company-0001",
                "userId": "user-0001",
            }


class TokenEndpointHandler(BaseHTTPRequestHandler):
    server: TokenEndpointServer

    def do_POST(self) -> None:
        if self.path != "/oauth/token":
            self._reply(404, {"statusCode": 404, "message": "Not Found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        form["content_type"] = self.headers.get("Content-Type", "")
        time.sleep(self.server.state.delay)
        outcome = self.server.state.answer(form)
        if self.server.state.before_answer is not None:
            self.server.state.before_answer()
        if outcome == "drop":
            self.close_connection = True
            self.connection.close()
            return
        status, body = outcome
        self._reply(status, body)

    def _reply(self, status: int, body: Any) -> None:
        # bytes are sent as they are: a proxy's HTML error page, say.
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "text/html" if isinstance(body, bytes) else "application/json"
        )
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TokenEndpointServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TokenEndpointHandler)
        self.state = TokenEndpointState()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def ghl_token_server(settings, monkeypatch) -> Iterator[TokenEndpointServer]:
    """A real HTTP server on loopback speaking GHL's refresh-token protocol."""
    server = TokenEndpointServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    settings.GHL_BASE_URL = server.url
    settings.GHL_CLIENT_ID = CLIENT_ID
    settings.GHL_CLIENT_SECRET = CLIENT_SECRET
    monkeypatch.setattr(oauth, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def changes() -> Iterator[list[dict[str, Any]]]:
    """Every credentials_changed sent during the test, as its keyword arguments."""
    received: list[dict[str, Any]] = []

    def record(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal", None)
        received.append(kwargs)

    credentials_changed.connect(record, dispatch_uid="tests.tenants.changes")
    yield received
    credentials_changed.disconnect(dispatch_uid="tests.tenants.changes")
