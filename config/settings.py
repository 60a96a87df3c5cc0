"""Settings for GHL Agent Hub: one file, configured from the environment.

Every value has a default that runs on a bare machine (SQLite, in-memory channel
layer, local-memory cache). Production is switched on by leaving ``DEBUG`` off,
and then refuses to start on unsafe keys. docs/configuration.md lists every variable.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from config.ghl_keys import GHL_WEBHOOK_ED25519_KEY, GHL_WEBHOOK_RSA_KEY

BASE_DIR = Path(__file__).resolve().parent.parent

# Placeholders for development only: production refuses to start with them.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105
DEV_FIELD_ENCRYPTION_KEY = "dev-insecure-field-encryption-key-change-me"

env = environ.Env()


def _invalid(name: str, expected: str, raw: object) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name} must be {expected}, got {raw!r}")


def env_raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank.

    Compose spells an optional variable ``${X:-}``, which sets it to an empty
    string: every optional setting must read that as "use the default".
    """
    raw = env.str(name, default=None)
    if raw is None or not raw.strip():
        return None
    return raw


def env_str(name: str, default: str) -> str:
    raw = env_raw(name)
    return default if raw is None else raw


def env_bool(name: str, default: bool) -> bool:
    raw = env_raw(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise _invalid(name, "a boolean (1/0, true/false)", raw)


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env_raw(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise _invalid(name, "an integer", raw) from None
    if value < minimum:
        raise _invalid(name, f"an integer of at least {minimum}", raw)
    return value


def env_float(name: str, default: float) -> float:
    raw = env_raw(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise _invalid(name, "a number", raw) from None
    if not value > 0:
        raise _invalid(name, "a positive number", raw)
    return value


def env_optional_id(name: str) -> int | None:
    raw = env_str(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise _invalid(name, "a numeric user or group id", raw)
    return int(raw)


# Linux uids are 32-bit, and (uid_t) -1 means "unchanged" to setuid and chown.
MAX_UID = 2**32 - 2


def env_uid_range(name: str) -> range | None:
    """``FIRST-LAST`` (both included) as a range; refused if reversed or if it holds root.

    It must not hold this server's own uid either: a child running as it could read
    the server's memory and environment, every tenant's secrets with them.
    """
    raw = env_str(name, "").strip()
    if not raw:
        return None
    match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", raw)
    if match is None:
        raise _invalid(name, "a uid range such as 20000-20999", raw)
    first, last = int(match.group(1)), int(match.group(2))
    if first > last:
        raise _invalid(name, "a range whose first uid is not above its last", raw)
    if first == 0:
        raise _invalid(name, "a range that leaves out uid 0 (root)", raw)
    if last > MAX_UID:
        raise _invalid(name, f"a range of uids up to {MAX_UID}", raw)
    if first <= os.geteuid() <= last:
        raise _invalid(name, f"a range that leaves out this server's own uid {os.geteuid()}", raw)
    return range(first, last + 1)


def env_command(name: str, default: list[str]) -> list[str]:
    raw = env_str(name, "").strip()
    if not raw:
        return list(default)
    try:
        return shlex.split(raw)
    except ValueError:
        raise _invalid(name, "a command line", raw) from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_raw(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_db_url(name: str, default: str) -> dict[str, Any]:
    raw = env_str(name, default).strip()
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise _invalid(name, "a sqlite:// or postgres:// URL", raw.split("@")[-1])
    return environ.Env.db_url_config(raw)


def env_key(name: str, default: str) -> str:
    """A PEM key; blank keeps the default, ``off`` refuses what it would verify."""
    raw = env_str(name, default)
    return "" if raw.strip().lower() in {"off", "none"} else raw


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)

# Field encryption has its own key ring, never SECRET_KEY: rotating the session
# key must not make stored GHL tokens unreadable. Newest key first; the newest
# encrypts and every key decrypts. FIELD_ENCRYPTION_KEY is the one-key spelling.
FIELD_ENCRYPTION_KEYS: list[str] = env_list(
    "FIELD_ENCRYPTION_KEYS", [env_str("FIELD_ENCRYPTION_KEY", DEV_FIELD_ENCRYPTION_KEY)]
)
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must name at least one key")
CRYPTOGRAPHY_KEY = FIELD_ENCRYPTION_KEYS[0]
CRYPTOGRAPHY_SALT = "ghl-agent-hub.field-encryption"


#: A production key must score at least this (see _estimated_bits).
_MIN_KEY_BITS = 48


def _estimated_bits(key: str) -> float:
    """A rough, generous guess at a key's randomness: its distinct character pairs, each
    worth log2 of its distinct characters. Random keys score far above the floor: a
    32-character hex key about 110 (the lowest of 300,000 draws: 70), ``token_urlsafe(50)``
    about 300. Repeats such as ``"abcdef" * 9``, ``"password" * 4`` or ``"a" * 32`` score
    under 25, however long they are."""
    distinct = len(set(key))
    if distinct < 2:
        return 0.0
    pairs = len({key[i : i + 2] for i in range(len(key) - 1)})
    return pairs * math.log2(distinct)


def _refuse_unsafe_production() -> None:
    problems = []
    if (
        SECRET_KEY == DEV_SECRET_KEY
        or len(SECRET_KEY) < 50
        or _estimated_bits(SECRET_KEY) < _MIN_KEY_BITS
    ):
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS or any(
        len(key) < 32 or _estimated_bits(key) < _MIN_KEY_BITS for key in FIELD_ENCRYPTION_KEYS
    ):
        problems.append(
            "FIELD_ENCRYPTION_KEYS must be set to random values of at least 32 characters"
        )
    if SECRET_KEY in FIELD_ENCRYPTION_KEYS:
        problems.append("FIELD_ENCRYPTION_KEYS must differ from SECRET_KEY")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off: "
            + "; ".join(problems)
            + ". See docs/configuration.md."
        )


if not DEBUG:
    _refuse_unsafe_production()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # daphne first, so that runserver speaks ASGI (HTTP and websockets).
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "channels",
    "django_prometheus",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "tenants",
    "tenants.highlevel",
    "mcpbridge",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Ahead of everything that reads Content-Length (django-prometheus answers 500 otherwise).
    "config.middleware.ContentLengthGuard",
    # Probes by IP must not meet ALLOWED_HOSTS (400 and an ERROR log line per probe).
    "config.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "config.staticfiles.AsyncWhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Database -------------------------------------------------------------

DATABASES = {
    "default": env_db_url("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}


def postgres_pool(*, conn_max_age: int) -> dict[str, int | float] | None:
    """The worker's PostgreSQL pool (psycopg_pool's options), None when it is off.

    Under daphne every request runs its ORM work in a thread of its own, and a kept
    connection is per thread: without a pool a worker's connections grow with its
    traffic until PostgreSQL refuses clients. With one, at most ``max_size`` are open;
    a connection goes back to the pool as soon as its thread closes it.
    """
    max_size = env_int("DB_POOL_MAX_SIZE", 10)
    if max_size == 0:
        return None
    min_size = env_int("DB_POOL_MIN_SIZE", 2)
    if min_size > max_size:
        raise _invalid("DB_POOL_MIN_SIZE", f"at most DB_POOL_MAX_SIZE ({max_size})", min_size)
    if conn_max_age != 0:
        # Django refuses a pool with persistent connections: the pool keeps them instead.
        raise _invalid(
            "DB_CONN_MAX_AGE", "0 while the pool is on (DB_POOL_MAX_SIZE > 0)", conn_max_age
        )
    return {
        "min_size": min_size,
        "max_size": max_size,
        "timeout": env_float("DB_POOL_TIMEOUT", 5.0),
        # While the database is away the pool retries with a growing pause; giving an
        # attempt up soon lets the next request start a new one at once, so service
        # comes back within seconds of the database, not after the pause has grown.
        "reconnect_timeout": env_float("DB_POOL_RECONNECT_TIMEOUT", 5.0),
    }


if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
    # A dead or black-holed database must not hang a request (or /health).
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
    )
    _pool = postgres_pool(conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    if _pool is not None:
        DATABASES["default"]["OPTIONS"]["pool"] = _pool
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads of one ASGI worker write; wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Redis: cache, rate limits and channel layer -------------------------

REDIS_URL = env_str("REDIS_URL", "")
REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 2.0)
# How long channels_redis blocks in one BZPOPMIN (its default, RedisChannelLayer.brpop_timeout).
CHANNEL_LAYER_BRPOP_TIMEOUT = 5

# Connections of one worker to Redis, for the cache and for the channel layer each; a
# caller finding all in use waits for one up to REDIS_TIMEOUT (config.redis_pools).
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 10, minimum=1)

if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "config.redis_pools.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "ghlhub"),
            "OPTIONS": {
                "max_connections": REDIS_MAX_CONNECTIONS,
                "timeout": REDIS_TIMEOUT,
                "socket_connect_timeout": REDIS_TIMEOUT,
                "socket_timeout": REDIS_TIMEOUT,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "config.redis_pools.BoundedRedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": REDIS_MAX_CONNECTIONS,
                        "timeout": REDIS_TIMEOUT,
                        "socket_connect_timeout": REDIS_TIMEOUT,
                        # receive() blocks in BZPOPMIN for the layer's brpop timeout;
                        # redis-py's own default read timeout (5 s) equals it, so an
                        # idle receive would fail as a timeout. A dead Redis is still
                        # noticed, REDIS_TIMEOUT after the longest legitimate wait.
                        "socket_timeout": CHANNEL_LAYER_BRPOP_TIMEOUT + REDIS_TIMEOUT,
                    }
                ],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "ghlhub"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

RATELIMIT_USE_CACHE = "default"
# A cache outage lets tool calls through (and logs it) rather than refusing them all.
RATELIMIT_FAIL_OPEN = True
# django-ratelimit warns that local memory is not shared between processes; on
# the embedded defaults there is one process, in production REDIS_URL is set.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]


# --- Authentication --------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# Tenants arrive through GHL sign-in; local accounts are created by staff.
ACCOUNT_ADAPTER = "config.accounts.ClosedSignupAccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
# The one copy of a tenant's GHL tokens is its encrypted TenantSecret, refreshed
# under a row lock. allauth's SocialToken would be a second, plaintext copy that
# goes stale at the first refresh (GHL refresh tokens are single-use), so it is
# never stored; the provider also hands allauth a token without the secrets.
SOCIALACCOUNT_STORE_TOKENS = False
# Tenant users sign up by signing in with HighLevel, without an extra form.
SOCIALACCOUNT_ADAPTER = "tenants.highlevel.adapter.HighLevelSocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = False
# Never sign a HighLevel user into an existing local account because the emails match.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
ADMIN_API_TOKEN = env_str("ADMIN_API_TOKEN", "")


# --- GoHighLevel -------------------------------------------------------------

GHL_BASE_URL = env_str("GHL_BASE_URL", "https://services.leadconnectorhq.com").rstrip("/")
GHL_CLIENT_ID = env_str("GHL_CLIENT_ID", "")
GHL_CLIENT_SECRET = env_str("GHL_CLIENT_SECRET", "")
# The marketplace app's id (shown under its name in the marketplace); empty: the part of
# GHL_CLIENT_ID before its first "-", the form in which GHL issues client ids.
GHL_APP_ID = env_str("GHL_APP_ID", "")
# Seconds of validity a token must have left; closer to expiry it is refreshed.
GHL_TOKEN_REFRESH_MARGIN = env_int("GHL_TOKEN_REFRESH_MARGIN", 300)
# Where users consent; white-label agencies use https://marketplace.leadconnectorhq.com.
GHL_MARKETPLACE_URL = env_str("GHL_MARKETPLACE_URL", "https://marketplace.gohighlevel.com").rstrip(
    "/"
)
GHL_OAUTH_SCOPES: list[str] = env_str(
    "GHL_OAUTH_SCOPES",
    " ".join(
        [
            "contacts.readonly",
            "contacts.write",
            "conversations.readonly",
            "conversations.write",
            "conversations/message.readonly",
            "conversations/message.write",
            "calendars.readonly",
            "calendars.write",
            "calendars/events.readonly",
            "calendars/events.write",
            "opportunities.readonly",
            "opportunities.write",
            "locations.readonly",
            "locations/customFields.readonly",
            "locations/customValues.readonly",
            "locations/customValues.write",
            "locations/tags.readonly",
            "users.readonly",
            "workflows.readonly",
            "campaigns.readonly",
            "invoices.readonly",
            "invoices.write",
            "products.readonly",
            # Agency logins exchange their token for a location token.
            "oauth.readonly",
            "oauth.write",
        ]
    ),
).split()
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {
    "highlevel": {
        # From the environment, so no SocialApp row has to be created by hand.
        "APPS": (
            [{"client_id": GHL_CLIENT_ID, "secret": GHL_CLIENT_SECRET}] if GHL_CLIENT_ID else []
        ),
        "SCOPE": GHL_OAUTH_SCOPES,
    }
}
# Webhook signing keys (PEM, or the PEM's base64 body). The defaults are the keys
# GHL publishes; set a key to "off" to refuse that signature scheme.
GHL_WEBHOOK_PUBLIC_KEY = env_key("GHL_WEBHOOK_PUBLIC_KEY", GHL_WEBHOOK_ED25519_KEY)
GHL_WEBHOOK_LEGACY_PUBLIC_KEY = env_key("GHL_WEBHOOK_LEGACY_PUBLIC_KEY", GHL_WEBHOOK_RSA_KEY)
# Signed events older than this many seconds are refused as replays.
GHL_WEBHOOK_MAX_AGE = env_int("GHL_WEBHOOK_MAX_AGE", 300, minimum=1)


# --- Security ----------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^livez$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


# --- Internationalisation and static files -------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}


# --- MCP children (mcpbridge) -------------------------------------------------

MCP_SERVER_COMMAND = env_command("MCP_SERVER_COMMAND", [sys.executable, "-m", "mcpbridge.ghl"])
MCP_IDLE_TIMEOUT = env_float("MCP_IDLE_TIMEOUT", 600.0)
MCP_REAP_INTERVAL = env_float("MCP_REAP_INTERVAL", 60.0)
MCP_MAX_LIFETIME = env_float("MCP_MAX_LIFETIME", 86_400.0)
MCP_MAX_CHILDREN = env_int("MCP_MAX_CHILDREN", 50, minimum=1)
MCP_INIT_TIMEOUT = env_float("MCP_INIT_TIMEOUT", 20.0)
MCP_CALL_TIMEOUT = env_float("MCP_CALL_TIMEOUT", 60.0)
# One uid for every child: children of different tenants can read each other's environ.
MCP_CHILD_UID = env_optional_id("MCP_CHILD_UID")
MCP_CHILD_GID = env_optional_id("MCP_CHILD_GID")
# Or a uid of its own for each live child, its gid the same number.
MCP_CHILD_UIDS = env_uid_range("MCP_CHILD_UIDS")
if MCP_CHILD_UIDS is not None and (MCP_CHILD_UID, MCP_CHILD_GID) != (None, None):
    raise ImproperlyConfigured(
        "MCP_CHILD_UIDS gives each child its own uid and gid: leave MCP_CHILD_UID and "
        "MCP_CHILD_GID unset with it"
    )
MCP_RUN_DIR = env_str("MCP_RUN_DIR", "")


# --- Ways in to the tools (websocket, HTTP, rate limits) ---------------------


def env_rate(name: str, default: str) -> str:
    raw = env_str(name, default).strip()
    if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", raw):
        raise _invalid(name, "a rate such as 60/m, 100/h or 10/30s", raw)
    if re.fullmatch(r"\d+/0+[smhd]", raw):
        raise _invalid(name, "a rate over a period longer than zero", raw)
    return raw


# Tool calls per tenant (every worker, socket and token of it together), counted by
# django-ratelimit in the default cache: Redis when REDIS_URL is set.
TENANT_RATE_LIMIT = env_rate("TENANT_RATE_LIMIT", "60/m")
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 256 * 1024, minimum=1024)
WS_MAX_FRAMES_PER_SECOND = env_int("WS_MAX_FRAMES_PER_SECOND", 20, minimum=1)
WS_MAX_CALLS_IN_FLIGHT = env_int("WS_MAX_CALLS_IN_FLIGHT", 16, minimum=1)
TOOL_MAX_BODY_BYTES = env_int("TOOL_MAX_BODY_BYTES", 256 * 1024, minimum=1024)

# --- The assistant's model (mcpbridge.chat.agent) ------------------------------------

# Any OpenAI-compatible chat-completions endpoint: OpenAI, Azure, OpenRouter, Ollama, vLLM...
# No LLM_MODEL means no model: the chat says how to configure one, the tool explorer works.
LLM_BASE_URL = env_str("LLM_BASE_URL", "https://api.openai.com/v1").strip().rstrip("/")
if not LLM_BASE_URL.startswith(("http://", "https://")):
    raise _invalid("LLM_BASE_URL", "an http:// or https:// URL", LLM_BASE_URL)
LLM_API_KEY = env_str("LLM_API_KEY", "")
LLM_MODEL = env_str("LLM_MODEL", "").strip()
LLM_MAX_STEPS = env_int("LLM_MAX_STEPS", 8, minimum=1)
LLM_TIMEOUT = env_float("LLM_TIMEOUT", 60.0)
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 1)
LLM_TOOL_RESULT_LIMIT = env_int("LLM_TOOL_RESULT_LIMIT", 16_000, minimum=200)
LLM_HISTORY_LIMIT = env_int("LLM_HISTORY_LIMIT", 60_000, minimum=1_000)
# Tools offered to the model per turn (endpoints take at most 128): the core and discovery
# tools, then those the operation search ranks highest for the user's latest message.
LLM_MAX_TOOLS = env_int("LLM_MAX_TOOLS", 64, minimum=1)
if LLM_MAX_TOOLS > 128:
    raise _invalid("LLM_MAX_TOOLS", "at most 128 (what model endpoints accept)", LLM_MAX_TOOLS)
# Seconds a tool call waits for a person's approval in the chat before it counts as declined.
CHAT_APPROVAL_TIMEOUT = env_float("CHAT_APPROVAL_TIMEOUT", 600.0)

# --- Audit log ------------------------------------------------------------------

# Days an audit entry is kept; `manage.py purge_audit` deletes older ones.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365, minimum=1)

# --- Health, metrics, logging ------------------------------------------------

HEALTH_CHECK_TIMEOUT = env_float("HEALTH_CHECK_TIMEOUT", 3.0)
# When set, /metrics requires "Authorization: Bearer <METRICS_TOKEN>". Without it, a
# production /metrics answers nobody unless METRICS_PUBLIC says it may be open.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_PUBLIC = env_bool("METRICS_PUBLIC", DEBUG)
PROMETHEUS_METRIC_NAMESPACE = ""

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be a logging level name, got {LOG_LEVEL!r}")
# text: one readable line per record; json: one JSON object per line, for log shippers.
LOG_FORMAT = env_str("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise _invalid("LOG_FORMAT", "text or json", LOG_FORMAT)
if LOG_FORMAT == "json":
    # Python's warnings would otherwise print bare text lines among the JSON ones.
    logging.captureWarnings(True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logging.TenantContextFilter"}},
    "formatters": {
        "text": {
            "()": "config.logging.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s tenant=%(tenant)s "
            "request=%(request_id)s %(message)s",
        },
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": sys.stderr,
            "filters": ["context"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The database pool logs each connection it opens at INFO; failures are WARNINGs.
        "psycopg.pool": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The openai SDK's HTTP client logs every request at INFO.
        "httpx2": {"level": "WARNING"},
    },
}
