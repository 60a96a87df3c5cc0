"""deploy/nginx/hub.conf in a real nginx, in front of two live daphne replicas."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import ANSWER_WITHIN, REPO_ROOT, DaphneServer, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="nginx is not installed (.ci/run installs it)"
)


def proxy_conf(replicas: list[int], port: int) -> str:
    """The stack's file, with the replicas' loopback ports for `web` and a free port."""
    conf = (REPO_ROOT / "deploy" / "nginx" / "hub.conf").read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n" for p in replicas)
    conf, count = re.subn(r"    server web:8000[^\n]*\n", servers, conf)
    assert count == 1
    return conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")


@pytest.fixture
def proxy(tmp_path, daphne_server) -> Iterator[tuple[str, list[DaphneServer]]]:
    replicas = [daphne_server(LOG_LEVEL="INFO") for _ in range(2)]
    port = free_port()
    (tmp_path / "hub.conf").write_text(proxy_conf([r.port for r in replicas], port))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/hub.conf;\n}}\n"
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + ANSWER_WITHIN
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)
    yield f"127.0.0.1:{port}", replicas
    process.terminate()
    process.wait(timeout=30)


def served_by(replicas: list[DaphneServer], request_id: str) -> tuple[int, ...]:
    """The replicas whose access log has the request (lines are written after the answer)."""
    deadline = time.monotonic() + ANSWER_WITHIN
    while not (found := tuple(i for i, r in enumerate(replicas) if request_id in r.log())):
        assert time.monotonic() < deadline, f"no replica logged {request_id}"
        time.sleep(0.02)
    return found


def test_a_tenants_paths_all_reach_one_replica(proxy):
    address, replicas = proxy
    for slug in ("acme", "globex", "initech"):
        ids = []
        for path in (f"/tenants/{slug}/chat/", f"/mcp/{slug}/tools", f"/tenants/{slug}/tools/"):
            request_id = f"route-{slug}-{uuid.uuid4().hex}"
            httpx.get(
                f"http://{address}{path}",
                headers={"X-Request-ID": request_id},
                timeout=ANSWER_WITHIN,
            )
            ids.append(request_id)
        owners = {served_by(replicas, request_id) for request_id in ids}
        assert len(owners) == 1, f"{slug} was served by {owners}"
        assert len(next(iter(owners))) == 1


def test_the_proxy_keeps_the_callers_request_id_and_refuses_metrics(proxy):
    address, _ = proxy
    answer = httpx.get(
        f"http://{address}/livez", headers={"X-Request-ID": "lb-7"}, timeout=ANSWER_WITHIN
    )
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "lb-7"
    assert httpx.get(f"http://{address}/metrics", timeout=ANSWER_WITHIN).status_code == 404


def test_websockets_pass_through_the_proxy(proxy):
    address, _ = proxy
    # No credentials: the hub accepts, then closes with 4401, which only a real upgrade shows.
    with (
        connect(f"ws://{address}/ws/tenants/acme/", open_timeout=ANSWER_WITHIN) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=ANSWER_WITHIN)
    assert closed.value.rcvd.code == 4401
