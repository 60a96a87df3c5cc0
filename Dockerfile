# syntax=docker/dockerfile:1

# --- build: dependencies into a virtualenv, static files collected ------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt dumb-init==1.2.5.post1

WORKDIR /app
COPY manage.py pyproject.toml ./
COPY config ./config
COPY tenants ./tenants
COPY mcpbridge ./mcpbridge
COPY templates ./templates
COPY static ./static
# collectstatic needs settings to load; these throwaway values never reach runtime.
RUN DEBUG=1 STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput -v 0 \
    && python -m compileall -q /app

# --- runtime: the same venv and code, run as an unprivileged user -------------
FROM python:3.11-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000

# "mcp" is the user tenant children may run as (MCP_CHILD_UID/GID, see README).
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
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0]; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/health', headers={'Host': host}), timeout=8)"]

ENTRYPOINT ["dumb-init", "--"]
CMD ["sh", "-c", "python manage.py migrate --noinput && exec daphne --proxy-headers -b 0.0.0.0 -p \"$PORT\" config.asgi:application"]
