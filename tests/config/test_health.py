from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_health_is_ok_when_every_dependency_answers(async_client):
    response = await async_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    body.pop("detail", None)  # what apps add with register_detail
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


async def test_health_only_answers_get(async_client):
    response = await async_client.post("/health")
    assert response.status_code == 405


def test_health_is_503_naming_the_database_when_it_is_unreachable(daphne_server, closed_port):
    server = daphne_server(DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port}/hub")
    response = server.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    # The pool keeps trying to connect while the check waits for it: refused shows as
    # a timeout (the log names the refusal); without a pool, as an error at once.
    assert body["checks"]["database"].startswith(("error", "timeout"))
    assert body["checks"]["cache"] == "ok"


def test_health_is_503_naming_redis_backed_checks_when_redis_is_unreachable(
    daphne_server, closed_port
):
    server = daphne_server(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    response = server.get("/health")
    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"cache", "channel_layer"}
    assert response.json()["checks"]["database"] == "ok"


@pytest.fixture
def black_hole_port() -> Iterator[int]:
    """A TCP server that accepts connections and never answers: a hung Redis."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_hung_redis_cannot_hang_health(daphne_server, black_hole_port):
    server = daphne_server(
        REDIS_URL=f"redis://127.0.0.1:{black_hole_port}/0",
        HEALTH_CHECK_TIMEOUT="1",
        REDIS_TIMEOUT="30",
    )
    # The client gives up long before Redis's own timeout would: only the
    # per-check bound can produce an answer in time.
    response = server.get("/health", timeout=10)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"].startswith("timeout")
    assert checks["channel_layer"].startswith("timeout")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (REDIS_URL)")
def test_health_is_ok_against_real_redis(daphne_server):
    server = daphne_server(REDIS_URL=os.environ["REDIS_URL"])
    response = server.get("/health")
    assert response.status_code == 200, response.text
