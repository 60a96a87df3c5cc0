from __future__ import annotations

import re
import runpy
import secrets

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import REPO_ROOT, base_env, run_manage

SETTINGS_PATH = str(REPO_ROOT / "config" / "settings.py")
PRODUCTION_SECRET_KEY = "prod-Qw7uXk2Lr9Tz4Vb8Nc1Md6Hs3Jf5Gy0Pa-Ze_Wo7Ri2Ue9Yt4Ip1Xs8"
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": PRODUCTION_SECRET_KEY,
    "FIELD_ENCRYPTION_KEYS": "field-encryption-key-for-production-use-0001",
    "ALLOWED_HOSTS": "hub.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://hub.example.com",
}


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "FIELD_ENCRYPTION_KEY",
        "DB_CONN_MAX_AGE",
        "DB_POOL_MAX_SIZE",
        "DB_POOL_MIN_SIZE",
        "REDIS_MAX_CONNECTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(SETTINGS_PATH)


def test_it_runs_on_embedded_defaults(monkeypatch):
    loaded = load_settings(monkeypatch, DEBUG="1")
    assert loaded["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_database_url_switches_to_postgres_with_a_pool_of_checked_connections(monkeypatch):
    loaded = load_settings(
        monkeypatch, DEBUG="1", DATABASE_URL="postgres://app:pw@db.internal:5432/hub"
    )
    database = loaded["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"]) == ("db.internal", "hub")
    # Django refuses persistent connections beside a pool: the pool keeps them.
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"] == {
        "min_size": 2,
        "max_size": 10,
        "timeout": 5.0,
        "reconnect_timeout": 5.0,
    }
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["connect_timeout"] == 5


def test_the_pool_is_sized_from_the_environment(monkeypatch):
    loaded = load_settings(
        monkeypatch,
        DEBUG="1",
        DATABASE_URL="postgres://app@db.internal/hub",
        DB_POOL_MIN_SIZE="0",
        DB_POOL_MAX_SIZE="4",
    )
    pool = loaded["DATABASES"]["default"]["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"]) == (0, 4)


def test_a_pool_size_of_zero_leaves_connections_to_db_conn_max_age(monkeypatch):
    loaded = load_settings(
        monkeypatch,
        DEBUG="1",
        DATABASE_URL="postgres://app@db.internal/hub",
        DB_POOL_MAX_SIZE="0",
        DB_CONN_MAX_AGE="30",
    )
    database = loaded["DATABASES"]["default"]
    assert "pool" not in database["OPTIONS"]
    assert database["CONN_MAX_AGE"] == 30


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"DB_CONN_MAX_AGE": "60"}, "DB_CONN_MAX_AGE must be 0 while the pool is on"),
        ({"DB_POOL_MIN_SIZE": "5", "DB_POOL_MAX_SIZE": "4"}, "DB_POOL_MIN_SIZE must be at most"),
        ({"DB_POOL_TIMEOUT": "0"}, "DB_POOL_TIMEOUT"),
    ],
)
def test_a_pool_that_cannot_work_is_refused_by_name(monkeypatch, env, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        load_settings(monkeypatch, DEBUG="1", DATABASE_URL="postgres://app@db.internal/hub", **env)


def test_the_embedded_database_has_no_pool(monkeypatch):
    loaded = load_settings(monkeypatch, DEBUG="1", DB_POOL_MAX_SIZE="4")
    assert "pool" not in loaded["DATABASES"]["default"]["OPTIONS"]


def test_redis_url_switches_channel_layer_and_cache_to_bounded_redis_pools(monkeypatch):
    loaded = load_settings(
        monkeypatch, DEBUG="1", REDIS_URL="redis://cache.internal:6379/2", REDIS_MAX_CONNECTIONS="7"
    )
    layer, cache = loaded["CHANNEL_LAYERS"]["default"], loaded["CACHES"]["default"]
    assert layer["BACKEND"] == "config.redis_pools.BoundedRedisChannelLayer"
    assert layer["CONFIG"]["hosts"][0]["address"].endswith("/2")
    assert layer["CONFIG"]["hosts"][0]["max_connections"] == 7
    assert cache["BACKEND"] == "config.redis_pools.SharedPoolRedisCache"
    assert cache["OPTIONS"]["max_connections"] == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DB_CONN_MAX_AGE", "forever"),
        ("DB_CONNECT_TIMEOUT", "0"),
        ("DB_POOL_MAX_SIZE", "-1"),
        ("REDIS_MAX_CONNECTIONS", "0"),
        ("REDIS_TIMEOUT", "-1"),
        ("HEALTH_CHECK_TIMEOUT", "soon"),
        ("SECURE_HSTS_SECONDS", "1.5"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "mysql://root@localhost/hub"),
    ],
)
def test_a_bad_value_fails_with_a_message_naming_the_variable(monkeypatch, name, value):
    env = {"DEBUG": "1", name: value}
    if name.startswith("DB_"):
        env["DATABASE_URL"] = "postgres://app@localhost/hub"
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(monkeypatch, **env)


def test_a_bad_database_url_does_not_echo_its_password(monkeypatch):
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings(monkeypatch, DEBUG="1", DATABASE_URL="mysql://root:hunter22@db/hub")
    assert "hunter22" not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-insecure-secret-key-change-me"}, "SECRET_KEY"),
        ({"FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS"),
        (
            {"FIELD_ENCRYPTION_KEYS": "dev-insecure-field-encryption-key-change-me"},
            "FIELD_ENCRYPTION_KEYS",
        ),
        (
            {"FIELD_ENCRYPTION_KEYS": PRODUCTION_SECRET_KEY},
            "differ from SECRET_KEY",
        ),
        # Long enough, but nowhere near random.
        ({"SECRET_KEY": "abcdef" * 9}, "SECRET_KEY"),
        ({"SECRET_KEY": "k3y-" * 15}, "SECRET_KEY"),
        ({"FIELD_ENCRYPTION_KEYS": "a" * 32}, "FIELD_ENCRYPTION_KEYS"),
        ({"FIELD_ENCRYPTION_KEYS": "password" * 4}, "FIELD_ENCRYPTION_KEYS"),
        # One weak key in the ring is enough to refuse.
        (
            {"FIELD_ENCRYPTION_KEYS": "field-encryption-key-for-production-use-0001," + "01" * 16},
            "FIELD_ENCRYPTION_KEYS",
        ),
    ],
)
def test_production_refuses_unsafe_keys(monkeypatch, overrides, complaint):
    env = {**PRODUCTION_ENV, **overrides}
    if env.get("SECRET_KEY") == "":
        monkeypatch.delenv("SECRET_KEY", raising=False)
        del env["SECRET_KEY"]
    if env.get("FIELD_ENCRYPTION_KEYS") == "":
        monkeypatch.delenv("FIELD_ENCRYPTION_KEYS", raising=False)
        del env["FIELD_ENCRYPTION_KEYS"]
    with pytest.raises(ImproperlyConfigured, match=complaint):
        load_settings(monkeypatch, **env)


@pytest.mark.parametrize("attempt", range(20))
def test_keys_made_as_the_docs_say_are_accepted(monkeypatch, attempt):
    loaded = load_settings(
        monkeypatch,
        **{
            **PRODUCTION_ENV,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": f"{secrets.token_urlsafe(32)},{secrets.token_hex(16)}",
        },
    )
    assert len(loaded["FIELD_ENCRYPTION_KEYS"]) == 2


def test_production_process_refuses_to_start_with_default_keys():
    env = base_env(**PRODUCTION_ENV)
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "Refusing to start with DEBUG off" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_for_the_documented_production_environment(tmp_path):
    env = base_env(**PRODUCTION_ENV, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def _names_read_by_settings() -> list[str]:
    source = (REPO_ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r"env_(?:\w+)\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
    return sorted(names - {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEY"})


def _public_settings(loaded: dict) -> dict:
    return {name: value for name, value in loaded.items() if name.isupper()}


def test_settings_read_at_least_the_documented_optional_variables():
    names = _names_read_by_settings()
    assert {"LLM_BASE_URL", "METRICS_TOKEN", "MCP_MAX_CHILDREN", "GHL_WEBHOOK_MAX_AGE"} <= set(
        names
    )


def test_every_optional_variable_left_empty_means_its_default(monkeypatch):
    names = _names_read_by_settings()
    for name in names:
        monkeypatch.delenv(name, raising=False)
    defaults = _public_settings(load_settings(monkeypatch, DEBUG="1"))
    blank = _public_settings(load_settings(monkeypatch, DEBUG="1", **dict.fromkeys(names, "")))
    assert blank == defaults


def test_production_starts_with_every_optional_variable_empty(monkeypatch):
    names = [name for name in _names_read_by_settings() if name not in PRODUCTION_ENV]
    loaded = load_settings(monkeypatch, **PRODUCTION_ENV, **dict.fromkeys(names, " "))
    assert loaded["LLM_BASE_URL"] == "https://api.openai.com/v1"
    assert loaded["STORAGES"]["staticfiles"]["BACKEND"].endswith(
        "CompressedManifestStaticFilesStorage"
    )


def test_a_webhook_key_set_to_off_refuses_that_scheme(monkeypatch):
    loaded = load_settings(monkeypatch, DEBUG="1", GHL_WEBHOOK_LEGACY_PUBLIC_KEY="off")
    assert loaded["GHL_WEBHOOK_LEGACY_PUBLIC_KEY"] == ""
    assert loaded["GHL_WEBHOOK_PUBLIC_KEY"].startswith("-----BEGIN PUBLIC KEY-----")
