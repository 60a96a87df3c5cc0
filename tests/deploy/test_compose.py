"""compose.yaml resolved by scripts/compose_env.py, the way `make compose-check` runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts import compose_env
from tests.conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "compose.yaml"
SET_BY_COMPOSE = {"DEBUG", "DATABASE_URL", "REDIS_URL", "SECURE_PROXY_SSL_HEADER", "PORT"}


def resolve(tmp_path: Path, **values: str) -> tuple[dict, dict[str, str]]:
    env_file = tmp_path / ".env"
    compose_env.env_file_from_example(env_file, values=values)
    resolved = compose_env.load(COMPOSE, env_file, shell={})
    return resolved, compose_env.service_environment(resolved, "web", env_file=env_file)


def test_the_stack_resolves_from_env_example_and_passes_check_deploy(tmp_path):
    _, web = resolve(tmp_path)
    assert web["DEBUG"] == "0"
    assert all(web[name] for name in compose_env.GENERATED_KEYS)
    assert web["DATABASE_URL"] == f"postgres://hub:{web['POSTGRES_PASSWORD']}@postgres:5432/hub"
    checked = compose_env.deploy_check(web)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_variable_that_resolves_to_an_invalid_value_fails_the_check(tmp_path):
    _, web = resolve(tmp_path, MCP_MAX_CHILDREN="0")
    checked = compose_env.deploy_check(web)
    assert checked.returncode != 0
    assert "MCP_MAX_CHILDREN" in checked.stderr


@pytest.mark.parametrize("name", ["SECRET_KEY", "METRICS_TOKEN", "POSTGRES_PASSWORD"])
def test_an_empty_required_variable_fails_like_compose(tmp_path, name):
    with pytest.raises(compose_env.ComposeError, match=name):
        resolve(tmp_path, **{name: ""})


def test_every_setting_and_every_variable_compose_reads_is_in_env_example():
    example = compose_env.read_env_file(REPO_ROOT / ".env.example")
    settings_source = (REPO_ROOT / "config" / "settings.py").read_text()
    read_by_settings = set(re.findall(r"env_\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", settings_source))
    read_by_compose = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    listed = set(example) | SET_BY_COMPOSE | {"FIELD_ENCRYPTION_KEY"}
    assert read_by_settings - listed == set()
    assert read_by_compose - set(example) == set()


def test_web_has_no_host_port_and_starts_after_the_migrate_service(tmp_path):
    resolved, _ = resolve(tmp_path)
    services = resolved["services"]
    assert "ports" not in services["web"]
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["proxy"]["image"].startswith("nginx:")
    for data in ("postgres", "redis"):
        assert services[data]["volumes"]
        assert services[data]["healthcheck"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A:-x}", "x"),
        ("${A-x}", ""),
        ("${B:-x}", "b"),
        ("${A:+y}", ""),
        ("${B:+y}", "y"),
        ("$$B", "$B"),
        ("$B/${C:-${B}-z}", "b/b-z"),
    ],
)
def test_interpolation_follows_compose(text, expected):
    assert compose_env.interpolate(text, {"A": "", "B": "b"}) == expected


def test_a_required_variable_left_empty_names_itself():
    with pytest.raises(compose_env.ComposeError, match="A is missing a value: set A"):
        compose_env.interpolate("${A:?set A}", {"A": ""})


@pytest.mark.parametrize(
    ("path", "slug"),
    [
        ("/tenants/acme/chat/12/", "acme"),
        ("/ws/tenants/acme/", "acme"),
        ("/mcp/acme/tool/search_contacts", "acme"),
        ("/accounts/login/", None),
    ],
)
def test_the_proxy_routes_a_tenants_paths_by_its_slug(path, slug):
    conf = (REPO_ROOT / "deploy" / "nginx" / "hub.conf").read_text()
    routes = re.findall(r"~(\^\S+)\s+\$slug;", conf)
    assert len(routes) == 3
    # nginx's PCRE spells a named group (?<name>...), Python's re (?P<name>...).
    found = [m.group("slug") for r in routes if (m := re.match(r.replace("(?<", "(?P<"), path))]
    assert found == ([slug] if slug else [])
    assert "hash $hub_route_key consistent;" in conf
