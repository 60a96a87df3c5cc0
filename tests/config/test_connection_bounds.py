"""A worker's connections to PostgreSQL and Redis stay within its pools, however many
requests it serves at once and however long it runs: the real daphne server, loaded
with rounds of concurrent tool calls and health checks, counted from the servers' side."""

from __future__ import annotations

import asyncio
import os
import shlex
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.conftest import ANSWER_WITHIN, DaphneServer
from tests.supervisor.conftest import server_command

ROUNDS = 5
CONCURRENT = 20
POOL_MAX = 4
REDIS_MAX = 3

on_postgres = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="needs PostgreSQL (DATABASE_URL)",
)
on_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs a real Redis (REDIS_URL)"
)


def worker_database_url(application_name: str) -> str:
    """This test's database, as a worker started here reaches it, its connections named."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return (
        f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        f"?application_name={application_name}"
    )


def database_connections_named(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [application_name],
        )
        return int(cursor.fetchone()[0])


def local_ports_to(pid: int, remote_port: int) -> set[int]:
    """The local ports of ``pid``'s TCP connections to ``remote_port``."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def redis_clients_of(pid: int, server: redis.Redis) -> int:
    """Redis's own list of clients, those of them that are ``pid``'s connections."""
    port = server.connection_pool.connection_kwargs.get("port", 6379)
    ports = local_ports_to(pid, port)
    return sum(
        1 for client in server.client_list() if int(client["addr"].rsplit(":", 1)[1]) in ports
    )


async def load_round(worker: DaphneServer, calls: list[tuple[str, dict[str, str]]]) -> list[int]:
    """Every request of ``calls`` at once (tool calls and health checks); their statuses."""
    limits = httpx.Limits(max_connections=len(calls))
    async with httpx.AsyncClient(base_url=worker.url, timeout=ANSWER_WITHIN, limits=limits) as http:

        async def one(path: str, headers: dict[str, str]) -> int:
            if path == "/health":
                return (await http.get(path)).status_code
            return (await http.post(path, json={"text": "hi"}, headers=headers)).status_code

        return list(await asyncio.gather(*(one(path, headers) for path, headers in calls)))


@pytest.mark.timeout(600)
@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_holds_no_more_database_connections_than_its_pool_under_concurrent_calls(
    daphne_server, tenant_factory, api_token_factory, tmp_path
):
    tenant = tenant_factory("acme")
    _, token = api_token_factory(tenant)
    name = f"ghlhub-bounds-{uuid.uuid4().hex[:12]}"
    worker = daphne_server(
        DATABASE_URL=worker_database_url(name),
        DB_POOL_MAX_SIZE=str(POOL_MAX),
        MCP_SERVER_COMMAND=shlex.join(server_command()),
        MCP_RUN_DIR=str(tmp_path / "run"),
        MCP_INIT_TIMEOUT=str(ANSWER_WITHIN),
        HEALTH_CHECK_TIMEOUT=str(ANSWER_WITHIN),
        TENANT_RATE_LIMIT="100000/m",
    )
    bearer = {"Authorization": f"Bearer {token}"}
    calls = [("/mcp/acme/tool/echo", bearer)] * CONCURRENT + [("/health", {})] * CONCURRENT

    counts = []
    for _ in range(ROUNDS):
        statuses = asyncio.run(load_round(worker, calls))
        assert statuses == [200] * len(calls), worker.log()[-3000:]
        counts.append(database_connections_named(name))
    assert all(0 < count <= POOL_MAX for count in counts), counts


@pytest.mark.timeout(600)
@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_pooled_worker_answers_through_a_database_outage_and_serves_again_after_it(
    daphne_server, tenant_factory, api_token_factory, tmp_path, db_outage
):
    tenant = tenant_factory("acme")
    _, token = api_token_factory(tenant)
    worker = daphne_server(
        DATABASE_URL=worker_database_url(f"ghlhub-outage-{uuid.uuid4().hex[:12]}"),
        DB_POOL_MAX_SIZE=str(POOL_MAX),
        DB_POOL_TIMEOUT="2",
        MCP_SERVER_COMMAND=shlex.join(server_command()),
        MCP_RUN_DIR=str(tmp_path / "run"),
        MCP_INIT_TIMEOUT=str(ANSWER_WITHIN),
        TENANT_RATE_LIMIT="100000/m",
    )
    bearer = {"Authorization": f"Bearer {token}"}

    def call() -> httpx.Response:
        return httpx.post(
            f"{worker.url}/mcp/acme/tool/echo",
            json={"text": "hi"},
            headers=bearer,
            timeout=ANSWER_WITHIN,
        )

    assert call().status_code == 200, worker.log()[-3000:]
    db_outage()
    # Every request is still answered, in JSON, with a time to come back.
    during = call()
    assert during.status_code == 503, during.text
    assert during.json()["code"] == "service_unavailable"
    assert during.headers["Retry-After"] == str(during.json()["retry_after"])
    health = httpx.get(f"{worker.url}/health", timeout=ANSWER_WITHIN)
    assert health.status_code == 503
    assert "database" in health.json()["failing"]

    # Back within seconds of the database (each attempt meanwhile still a 503).
    db_outage.end()
    statuses = []
    for _ in range(30):
        statuses.append(call().status_code)
        if statuses[-1] == 200:
            break
    assert statuses[-1] == 200, (statuses, worker.log()[-3000:])
    assert set(statuses[:-1]) <= {503}, statuses


@pytest.mark.timeout(600)
@on_redis
def test_a_worker_holds_no_more_redis_connections_than_its_pools_under_concurrent_checks(
    daphne_server, tmp_path
):
    worker = daphne_server(
        DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        REDIS_URL=os.environ["REDIS_URL"],
        REDIS_MAX_CONNECTIONS=str(REDIS_MAX),
        # Waits for a pooled connection must not fail a check on a busy machine.
        REDIS_TIMEOUT=str(ANSWER_WITHIN),
        HEALTH_CHECK_TIMEOUT=str(ANSWER_WITHIN),
    )
    server = redis.Redis.from_url(os.environ["REDIS_URL"])
    calls = [("/health", {})] * (2 * CONCURRENT)

    counts = []
    for _ in range(ROUNDS):
        statuses = asyncio.run(load_round(worker, calls))
        assert statuses == [200] * len(calls), worker.log()[-3000:]
        counts.append(redis_clients_of(worker.process.pid, server))
    # One pool for the cache and one for the channel layer.
    assert all(0 < count <= 2 * REDIS_MAX for count in counts), counts
