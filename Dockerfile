# syntax=docker/dockerfile:1

# --- build: dependencies into a virtualenv, static files collected ------------
# Every step is scripts/image-build.sh, which `make image-check` also runs into a
# scratch folder when no container engine is at hand.
FROM python:3.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHON=python

COPY requirements.txt /src/requirements.txt
COPY scripts/image-build.sh /src/scripts/image-build.sh
RUN sh /src/scripts/image-build.sh deps /src /

COPY manage.py pyproject.toml /src/
COPY config /src/config
COPY tenants /src/tenants
COPY mcpbridge /src/mcpbridge
COPY templates /src/templates
COPY static /src/static
RUN sh /src/scripts/image-build.sh app /src /

# --- runtime: the same venv and code, run as an unprivileged user -------------
FROM python:3.11-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000

# "mcp" is the user tenant children may run as (MCP_CHILD_UID/GID, docs/operations.md).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && groupadd --system --gid 10002 mcp \
    && useradd --system --uid 10002 --gid mcp --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin mcp

COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
WORKDIR /app
USER 10001:10001

EXPOSE 8000
# /health (database, cache, channel layer) on the port the server really listens on.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]

# Migrations are the compose "migrate" service's job (one run, before any replica starts).
ENTRYPOINT ["dumb-init", "--"]
CMD ["sh", "-c", "exec python -m config.serve --proxy-headers -b 0.0.0.0 -p \"${PORT:-8000}\" config.asgi:application"]
