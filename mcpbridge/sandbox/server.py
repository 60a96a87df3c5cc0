"""Run the sandbox: in a background thread for tests, in the foreground for people."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from typing import Any

import uvicorn

from mcpbridge.sandbox.app import create_app
from mcpbridge.sandbox.seed import DENTAL
from mcpbridge.sandbox.state import ACCESS_TOKEN_SECONDS, Fault, RecordedRequest, SandboxState
from mcpbridge.sandbox.webhooks import WebhookSender


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it each response waits ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    # Listen at once: the URL is printed (and may be used) before uvicorn starts serving.
    sock.listen(128)
    return sock


class Sandbox:
    """A running GHL sandbox plus the handles tests steer it with.

    ``options`` set the OAuth client it accepts (``client_id``, ``client_secret``) and its
    burst limit (``rate_limit`` requests per ``rate_window`` seconds, GHL's 100 per 10 s).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        **options: Any,
    ) -> None:
        self._options = options
        self.state = SandboxState(**options)
        self.webhooks = WebhookSender(self.state, target_url=webhook_url)
        self._socket = bind(host, port)
        bound_host, bound_port = self._socket.getsockname()[:2]
        self.url = (
            f"http://{bound_host}:{bound_port}"
            if ":" not in bound_host
            else f"http://[{bound_host}]:{bound_port}"
        )
        app = create_app(self.state)
        app.state.webhooks = self.webhooks
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Sandbox:
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name="ghl-sandbox",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the GHL sandbox did not start")
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted (Ctrl-C)."""
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Back to the seeded world: data, tokens, grants, faults, limits and records."""
        state = self.state
        fresh = SandboxState(**self._options)
        with state.lock:
            state.client_id, state.client_secret = fresh.client_id, fresh.client_secret
            state.rate_limit, state.rate_window = fresh.rate_limit, fresh.rate_window
            state.data = fresh.data
            state.tokens.clear()
            state.refresh_tokens.clear()
            state.grants.clear()
            state.faults.clear()
            state.token_requests.clear()
            state.token_failures.clear()
            state.recorded.clear()
            state.windows.clear()
            state.daily.clear()
            state.clock_offset = 0.0
            state.generation += 1

    # -- steering -------------------------------------------------------------

    def mint_token(
        self,
        location_id: str = DENTAL,
        *,
        scopes: set[str] | None = None,
        expires_in: float = ACCESS_TOKEN_SECONDS,
        user_id: str | None = None,
    ) -> str:
        """An access token for a location, without the OAuth dance."""
        return self.mint_tokens(location_id, scopes=scopes, expires_in=expires_in, user_id=user_id)[
            "access_token"
        ]

    def mint_tokens(
        self,
        location_id: str | None = DENTAL,
        *,
        scopes: set[str] | None = None,
        expires_in: float = ACCESS_TOKEN_SECONDS,
        user_id: str | None = None,
        company_id: str | None = None,
    ) -> dict[str, Any]:
        """A full token response with a refresh token; ``location_id=None`` for an agency."""
        return self.state.token_mint(
            location_id=location_id,
            company_id=company_id,
            user_id=user_id,
            scopes=frozenset(scopes) if scopes is not None else None,
            expires_in=expires_in,
            with_refresh=True,
        )

    def fail(
        self,
        path: str,
        *,
        status: int = 500,
        times: int = 1,
        method: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        hold: threading.Event | None = None,
    ) -> None:
        """Make the next ``times`` calls matching ``path`` (a glob) answer ``status``.

        ``delay`` seconds pass before the answer; with ``hold``, the answer also waits
        until that event is set (at most a minute).
        """
        self.state.fault_add(
            Fault(
                pattern=path,
                method=method,
                status=status,
                remaining=times,
                message=message or f"Sandbox fault: {status}",
                headers=headers or {},
                delay=delay,
                hold=hold,
            )
        )

    def hold(self, path: str, gate: threading.Event, *, times: int = 1) -> Fault:
        """Hold the next ``times`` calls matching ``path`` until ``gate`` is set, then
        answer them as usual. The fault's ``remaining`` drops as each call arrives."""
        fault = Fault(
            pattern=path, method=None, status=0, remaining=times, message="", headers={}, hold=gate
        )
        self.state.fault_add(fault)
        return fault

    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)

    # -- inspection -----------------------------------------------------------

    def requests(self, path: str | None = None, method: str | None = None) -> list[RecordedRequest]:
        with self.state.lock:
            return [
                r
                for r in self.state.recorded
                if (path is None or r.path == path) and (method is None or r.method == method)
            ]

    @property
    def token_requests(self) -> Counter[str]:
        with self.state.lock:
            return Counter(self.state.token_requests)

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data
