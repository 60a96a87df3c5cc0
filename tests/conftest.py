from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_ratelimit.core
import httpx
import pytest
from asgiref.sync import SyncToAsync
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from mcpbridge.sandbox import Sandbox
from tenants.access import api_token_create
from tenants.models import ApiToken, Membership, Tenant, TenantSecret
from tests.database_faults import db_connection_killer, db_outage  # noqa: F401 (fixtures)

REPO_ROOT = Path(__file__).resolve().parent.parent
# How long a test waits on an answer it is owed: a bound against a hang only, far beyond
# what the busiest machine takes, so that load alone never fails a test.
ANSWER_WITHIN = 300.0


@pytest.fixture(scope="session", autouse=True)
def _cache_keys_of_this_test_process() -> Iterator[None]:
    """Parallel test processes share one Redis but not one database: tenant ids repeat
    across processes, so each keeps its cache (and rate-limit) keys apart."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield
        return
    caches = {
        alias: {**config, "KEY_PREFIX": f"{config.get('KEY_PREFIX', '')}-{worker}"}
        for alias, config in django_settings.CACHES.items()
    }
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(scope="session", autouse=True)
def _async_orm_connections_closed_at_the_end(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Async code runs the ORM in asgiref's one shared thread; its connection would
    otherwise outlive the session and keep PostgreSQL from dropping the test database."""
    yield
    with django_db_blocker.unblock():
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    return free_port()


def base_env(**overrides: str) -> dict[str, str]:
    """A minimal environment for a subprocess of the project: no inherited settings."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO_ROOT),
        "DEBUG": "1",
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "FIELD_ENCRYPTION_KEYS": os.environ["FIELD_ENCRYPTION_KEYS"],
    }
    env.update(overrides)
    return env


def run_manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def daphne_start(
    env: dict[str, str], *, app: str = "config.asgi:application", **popen: Any
) -> tuple[str, subprocess.Popen]:
    """Serve ``app`` with daphne on a loopback socket that listens before daphne starts.

    daphne adopts the socket (``--fd``), so a request sent while it is still starting
    waits in the socket's backlog instead of being refused: nobody polls for it to be
    ready, however busy the machine. A daphne that dies closes the last copy of the
    socket, and the request fails at once. daphne runs as the image runs it, through
    ``config.serve`` (daphne's own arguments, the access log written by the hub).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)  # Twisted adopts only non-blocking sockets
        fd = sock.fileno()
        process = subprocess.Popen(
            [sys.executable, "-m", "config.serve", "--fd", str(fd), app],
            cwd=REPO_ROOT,
            env=env,
            pass_fds=(fd,),
            **popen,
        )
        return f"http://127.0.0.1:{sock.getsockname()[1]}", process


class DaphneServer:
    """The image's server; its log goes to a file the test can read."""

    def __init__(self, env: dict[str, str]) -> None:
        self.log_file = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.url, self.process = daphne_start(env, stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.port = int(self.url.rsplit(":", 1)[1])

    def log(self) -> str:
        self.log_file.seek(0)
        return self.log_file.read().decode(errors="replace")

    def wait_for_log(self, text: str, timeout: float = ANSWER_WITHIN) -> str:
        """The log once it holds ``text`` (lines are written just after the response)."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never reached the log:\n{log}")
            time.sleep(0.02)
        return log

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, timeout=kwargs.pop("timeout", ANSWER_WITHIN), **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


@pytest.fixture
def daphne_server() -> Iterator[Callable[..., DaphneServer]]:
    """Start the real ASGI application under daphne, in a subprocess, with the given env."""
    servers: list[DaphneServer] = []

    def start(**env_overrides: str) -> DaphneServer:
        server = DaphneServer(base_env(**env_overrides))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def user_factory(db) -> Callable[..., Any]:
    counter = itertools.count(1)

    def create(username: str | None = None, **extra: Any) -> Any:
        name = username or f"user{next(counter)}"
        return get_user_model().objects.create_user(
            username=name, email=f"{name}@example.com", password="pw-for-tests-only", **extra
        )

    return create


@pytest.fixture
def tenant_factory(db) -> Callable[..., Tenant]:
    counter = itertools.count(1)

    def create(
        slug: str | None = None,
        *,
        access_token: str | None = "access-0",  # noqa: S107
        refresh_token: str = "refresh-0",  # noqa: S107
        expires_in: timedelta | None = timedelta(hours=20),
        **extra: Any,
    ) -> Tenant:
        n = next(counter)
        slug = slug or f"tenant-{n}"
        extra.setdefault("location_id", f"loc-{slug}")
        tenant = Tenant.objects.create(slug=slug, name=slug.title(), **extra)
        if access_token is not None:
            TenantSecret.objects.create(
                tenant=tenant,
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=None if expires_in is None else timezone.now() + expires_in,
            )
        return tenant

    return create


@dataclass
class Personas:
    tenant: Tenant
    owner: Any
    member: Any
    viewer: Any
    outsider: Any
    staff: Any


@pytest.fixture
def personas(user_factory, tenant_factory) -> Personas:
    tenant = tenant_factory("acme")
    other = tenant_factory("globex")
    owner, member, viewer = user_factory("alice"), user_factory("bob"), user_factory("vera")
    outsider = user_factory("charlie")
    Membership.objects.create(user=owner, tenant=tenant, role=Membership.Role.OWNER)
    Membership.objects.create(user=member, tenant=tenant, role=Membership.Role.MEMBER)
    Membership.objects.create(user=viewer, tenant=tenant, role=Membership.Role.VIEWER)
    Membership.objects.create(user=outsider, tenant=other, role=Membership.Role.OWNER)
    staff = user_factory("sam", is_staff=True, is_superuser=True)
    return Personas(tenant, owner, member, viewer, outsider, staff)


@pytest.fixture
def api_token_factory(db) -> Callable[..., tuple[ApiToken, str]]:
    """``api_token_factory(tenant, role=...)``: a token and its plaintext."""
    counter = itertools.count(1)

    def create(tenant: Tenant, *, role: str = Membership.Role.MEMBER, **extra: Any) -> Any:
        extra.setdefault("name", f"token {next(counter)}")
        return api_token_create(tenant=tenant, created_by=None, role=role, **extra)

    return create


@pytest.fixture(scope="session")
def _ghl_sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def ghl_sandbox(_ghl_sandbox_server: Sandbox) -> Sandbox:
    """The local GHL sandbox on a loopback port, reset to its seeded state for each test."""
    _ghl_sandbox_server.reset()
    return _ghl_sandbox_server


class RateLimitClock:
    """django-ratelimit's clock, held still and moved by hand."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def time(self) -> float:
        return self.now


@pytest.fixture
def ratelimit_clock(monkeypatch: pytest.MonkeyPatch) -> RateLimitClock:
    """Rate-limit windows are fixed slices of time: a test counting calls in one must not
    see it roll over halfway, so the limiter's clock stands still until the test moves it."""
    clock = RateLimitClock()
    monkeypatch.setattr(django_ratelimit.core, "time", clock)
    return clock
