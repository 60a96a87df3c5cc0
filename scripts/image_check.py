"""`make image-check`: build the image, start it as compose would, and prove it serves.

With a working ``docker`` or ``podman`` the image is built and run. Without one (CI
here) the build is rehearsed: ``scripts/image-build.sh``, the very script the
Dockerfile runs, builds into a scratch prefix standing for ``/``; then the image's own
start command (ENTRYPOINT + CMD, read from the Dockerfile) runs from there as the
image's unprivileged uid, with exactly the environment ``compose.yaml`` gives the
``web`` service when ``.env`` is ``.env.example`` filled in with fresh keys.

What differs from the stack, and why: the ``postgres`` and ``redis`` services are the
check's own (``IMAGE_CHECK_DATABASE_URL``, ``IMAGE_CHECK_REDIS_URL``; the database is
dropped and created anew, the Redis db flushed), ``PORT`` is a free loopback port,
and the filled ``.env`` points ``GHL_BASE_URL`` and ``LLM_BASE_URL`` at loopback
stand-ins (the GHL sandbox, a fake model), as an operator's points them at GHL and a
model. Then every page type must answer 200, every static file they name too, the
health check, ``scripts/smoke.sh`` and a streamed chat turn must pass, and the
server's log must hold no ERROR and (``LOG_FORMAT=json``) only JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcpbridge.sandbox import DENTAL, Sandbox
from scripts import compose_env, dockerfile
from scripts.image_runners import ContainerRunner, RehearsalRunner, Runner, find_engine
from scripts.page_check import (
    CheckFailed,
    Site,
    chat_turn,
    expect_page,
    expect_static,
    sign_in,
    static_urls,
)
from tests.chat.fake_model import MODEL, FakeModel, text, tool_calls

REPO_ROOT = Path(__file__).resolve().parent.parent
TENANT = "demo"
STAFF, STAFF_PASSWORD = "image-check-staff", "image-check-password-0123456789"
SIGNED_IN_PAGES = [
    ("signed-in home", "/", f"/tenants/{TENANT}/"),
    ("tenant home", f"/tenants/{TENANT}/", ""),
    ("chat", f"/tenants/{TENANT}/chat/", ""),
    ("tools", f"/tenants/{TENANT}/tools/", "search_contacts"),
    ("settings", f"/tenants/{TENANT}/settings/", ""),
    ("API tokens", f"/tenants/{TENANT}/api-tokens/", ""),
    ("admin", "/admin/", ""),
    ("admin: MCP children", "/admin/mcp/children/", ""),
]


def say(message: str) -> None:
    print(f"== {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def fresh_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def connections_to(url: str) -> int:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    return int(row[0]) if row else 0


def resolved_environment(
    workdir: Path, sandbox: Sandbox, model: FakeModel
) -> tuple[dict[str, str], list[str]]:
    """The web service's environment, and the migrate service's command."""
    env_file = workdir / ".env"
    filled = compose_env.env_file_from_example(
        env_file,
        values={
            "ADMIN_API_TOKEN": compose_env.secrets.token_urlsafe(32),
            "GHL_BASE_URL": sandbox.url,
            "LLM_BASE_URL": model.url,
            "LLM_MODEL": MODEL,
        },
    )
    resolved = compose_env.load(REPO_ROOT / "compose.yaml", env_file, shell={})
    web = compose_env.service_environment(resolved, "web", env_file=env_file)
    migrate = compose_env.service_environment(resolved, "migrate", env_file=env_file)
    if web != migrate:
        raise CheckFailed("the migrate and web services must see the same settings")
    empty_required = [name for name in compose_env.GENERATED_KEYS if not web.get(name)]
    if empty_required:
        raise CheckFailed(f"compose resolves these to nothing: {empty_required}")
    say(f"compose resolves {len(web)} variables for web: {', '.join(sorted(web))}")
    say(f"filled in .env: {', '.join(sorted(filled))}")
    return web, list(resolved["services"]["migrate"]["command"])


def check_example_environment(work: Path) -> None:
    """``.env.example`` with nothing but fresh keys must already make a hub that starts."""
    env_file = work / "example.env"
    compose_env.env_file_from_example(env_file)
    resolved = compose_env.load(REPO_ROOT / "compose.yaml", env_file, shell={})
    for service in ("migrate", "web"):
        environment = compose_env.service_environment(resolved, service, env_file=env_file)
        checked = compose_env.deploy_check(environment)
        if checked.returncode != 0:
            raise CheckFailed(
                f"the {service} service's settings, from .env.example and fresh keys, fail:\n"
                f"{checked.stdout}{checked.stderr[-3000:]}"
            )
    say("compose.yaml + .env.example + fresh keys: check --deploy passes for migrate and web")


def services(environment: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    """The stack's service addresses replaced by this check's own."""
    return {
        **environment,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "PORT": str(free_port()),
    }


def wait_listening(runner: Runner, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runner.raise_if_exited()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise CheckFailed(f"the server did not listen on {port} within {timeout:.0f}s")


def setup_staff_and_tenant(runner: Runner, site: Site, env: dict[str, str]) -> str:
    """Credentials pushed as an operator would; a staff owner and a tenant API token."""
    body = {"tenantId": TENANT, "accessToken": env["_GHL_TOKEN"], "locationId": DENTAL}
    pushed = site.request(
        "POST",
        "/api/tenant/credentials",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {env['ADMIN_API_TOKEN']}"},
    )
    if pushed.status_code not in {200, 201}:
        raise CheckFailed(f"pushing credentials answered {pushed.status_code}: {pushed.text}")
    script = "\n".join(
        [
            "from django.contrib.auth import get_user_model",
            "from tenants.models import Membership, Tenant",
            f"u = get_user_model().objects.create_superuser({STAFF!r}, 's@example.com', "
            f"{STAFF_PASSWORD!r})",
            f"Membership.objects.create(user=u, tenant=Tenant.objects.get(slug={TENANT!r}), "
            "role='owner')",
        ]
    )
    runner.manage(["shell", "-c", script])
    return runner.manage(["create_api_token", TENANT, "image-check"]).strip().splitlines()[-1]


def run_smoke(site: Site, env: dict[str, str], tenant_token: str) -> None:
    smoke_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ADMIN_API_TOKEN": env["ADMIN_API_TOKEN"],
        "TENANT_API_TOKEN": tenant_token,
        "GHL_ACCESS_TOKEN": env["_GHL_TOKEN"],
        "GHL_LOCATION_ID": DENTAL,
        "SMOKE_TENANT": TENANT,
        "SMOKE_CURL_ARGS": f"--connect-to {site.host}:80:127.0.0.1:{site.port} "
        "-H X-Forwarded-Proto:https",
    }
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "smoke.sh"), f"http://{site.host}"],
        env=smoke_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise CheckFailed(f"scripts/smoke.sh failed:\n{done.stdout}\n{done.stderr}")


def check_pages(site: Site, runner: Runner, env: dict[str, str]) -> list[str]:
    checked: list[str] = []
    assets: set[str] = set()
    for host in ("10.0.0.1:8000", site.host):
        probe = Site(port=site.port, host=host).request("GET", "/health")
        if probe.status_code != 200:
            raise CheckFailed(f"/health with Host {host} answered {probe.status_code}")
    checked.append("/health (any Host)")
    for label, path in [("anonymous home", "/"), ("login", "/accounts/login/")]:
        final, html = expect_page(site, path)
        assets |= static_urls(html)
        checked.append(f"{label} {path}")
    token = setup_staff_and_tenant(runner, site, env)
    run_smoke(site, env, token)
    checked.append("scripts/smoke.sh")
    sign_in(site, username=STAFF, password=STAFF_PASSWORD)
    for label, path, shows in SIGNED_IN_PAGES:
        final, html = expect_page(site, path, must_contain=shows)
        assets |= static_urls(html)
        checked.append(f"{label} {path}" + (f" -> {final}" if final != path else ""))
    fetched = expect_static(site, assets)
    checked.append(f"{len(fetched)} static files: {', '.join(sorted(fetched))}")
    return checked


def check_chat(site: Site, model: FakeModel) -> str:
    model.push(
        tool_calls(("search_contacts", {"query": "Alice"})),
        text("Alice ", "is a ", "patient."),
    )
    events = chat_turn(site, tenant=TENANT, text="Who is Alice?")
    kinds = [event["type"] for event in events]
    deltas = "".join(e["text"] for e in events if e["type"] == "chat.delta")
    results = [e for e in events if e["type"] == "tool.result"]
    if kinds[-1] != "chat.done" or deltas != "Alice is a patient." or not results:
        raise CheckFailed(f"the chat turn did not stream an answer: {events}")
    if results[0]["isError"]:
        raise CheckFailed(f"the chat's tool call failed: {results[0]}")
    return f"chat turn: {len(events)} events ({', '.join(dict.fromkeys(kinds))})"


def check_log(log: str) -> int:
    lines = [line for line in log.splitlines() if line.strip()]
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            raise CheckFailed(f"a log line is not JSON (LOG_FORMAT=json): {line!r}") from None
        if entry.get("level") in {"ERROR", "CRITICAL"}:
            raise CheckFailed(f"the server logged an error: {line}")
    return len(lines)


@contextmanager
def stand_ins() -> Iterator[tuple[Sandbox, FakeModel]]:
    with Sandbox().start() as sandbox, FakeModel() as model:
        yield sandbox, model


def run(args: argparse.Namespace) -> None:
    engine = None if args.rehearse else find_engine()
    reuse = args.work is not None and (args.work / "root").exists()
    work = args.work or Path(tempfile.mkdtemp(prefix="hub-image-check-"))
    work.mkdir(mode=0o755, exist_ok=True)
    work.chmod(0o755)
    runtime = dockerfile.read(
        REPO_ROOT / "Dockerfile", base_env={"PATH": "/usr/local/bin:/usr/bin:/bin"}
    )
    runner: Runner = (
        ContainerRunner(engine, REPO_ROOT, runtime)
        if engine
        else RehearsalRunner(REPO_ROOT, work / "root", runtime)
    )
    try:
        check_example_environment(work)
        with stand_ins() as (sandbox, model):
            resolved, migrate_command = resolved_environment(work, sandbox, model)
            environment = services(resolved, args)
            environment_check = compose_env.deploy_check(
                {**environment, "DATABASE_URL": args.database_url}
            )
            if environment_check.returncode != 0:
                raise CheckFailed(
                    f"check --deploy fails:\n{environment_check.stdout}{environment_check.stderr}"
                )
            if reuse:
                say(f"reusing the build in {work}")
            else:
                say(f"building with {engine or 'the rehearsal (no container engine works here)'}")
                started = time.monotonic()
                runner.build()
                say(f"built in {time.monotonic() - started:.0f}s")
            say(runner.size_report())
            fresh_database(args.database_url)
            fresh_redis(args.redis_url)
            runner.environment = environment
            runner.exec(migrate_command)
            say(f"the migrate service's command ran: {' '.join(migrate_command)}")
            port = int(environment["PORT"])
            runner.start()
            wait_listening(runner, port)
            runner.healthcheck()
            say("the image's HEALTHCHECK passes on $PORT")
            site = Site(port=port, host=environment["ALLOWED_HOSTS"].split(",")[0].strip())
            env = {**environment, "_GHL_TOKEN": sandbox.mint_token(DENTAL)}
            for line in check_pages(site, runner, env):
                say(f"200: {line}")
            say(check_chat(site, model))
            held = connections_to(args.database_url)
            say(f"PostgreSQL connections held by the one worker: {held}")
            runner.stop()
            say(f"log: {check_log(runner.log())} lines, all JSON, no ERROR")
    except Exception:
        print(runner.log()[-6000:], file=sys.stderr)
        raise
    finally:
        runner.stop()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    say("image check passed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "IMAGE_CHECK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ghlhub_image_check"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("IMAGE_CHECK_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--rehearse", action="store_true", help="even if an engine works")
    parser.add_argument(
        "--work", type=Path, help="scratch folder to keep; a build found there is reused"
    )
    args = parser.parse_args(argv)
    try:
        run(args)
    except CheckFailed as failure:
        print(f"\nIMAGE CHECK FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
