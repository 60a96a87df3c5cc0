from __future__ import annotations

import runpy

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import REPO_ROOT, base_env, run_manage

SETTINGS_PATH = str(REPO_ROOT / "config" / "settings.py")
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "prod-" + "k3y-" * 14,
    "FIELD_ENCRYPTION_KEYS": "field-encryption-key-for-production-use-0001",
    "ALLOWED_HOSTS": "hub.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://hub.example.com",
}


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for name in ("DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEY", "DB_CONN_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(SETTINGS_PATH)


def test_it_runs_on_embedded_defaults(monkeypatch):
    loaded = load_settings(monkeypatch, DEBUG="1")
    assert loaded["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_database_url_switches_to_postgres_with_persistent_checked_connections(monkeypatch):
    loaded = load_settings(
        monkeypatch, DEBUG="1", DATABASE_URL="postgres://app:pw@db.internal:5432/hub"
    )
    database = loaded["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"]) == ("db.internal", "hub")
    assert database["CONN_MAX_AGE"] > 0
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["connect_timeout"] == 5


def test_redis_url_switches_channel_layer_and_cache_to_redis(monkeypatch):
    loaded = load_settings(monkeypatch, DEBUG="1", REDIS_URL="redis://cache.internal:6379/2")
    assert loaded["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert loaded["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["address"].endswith("/2")
    assert loaded["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DB_CONN_MAX_AGE", "forever"),
        ("DB_CONNECT_TIMEOUT", "0"),
        ("REDIS_TIMEOUT", "-1"),
        ("HEALTH_CHECK_TIMEOUT", "soon"),
        ("SECURE_HSTS_SECONDS", "1.5"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "mysql://root@localhost/hub"),
    ],
)
def test_a_bad_value_fails_with_a_message_naming_the_variable(monkeypatch, name, value):
    env = {"DEBUG": "1", name: value}
    if name == "DB_CONN_MAX_AGE" or name == "DB_CONNECT_TIMEOUT":
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
        ({"FIELD_ENCRYPTION_KEYS": "prod-" + "k3y-" * 14}, "differ from SECRET_KEY"),
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
