from __future__ import annotations

import logging

import pytest
from django.core.handlers.asgi import ASGIHandler

from config.staticfiles import AsyncWhiteNoiseMiddleware


def test_no_middleware_pushes_async_views_into_a_thread(caplog, settings):
    # Django adapts every middleware that cannot run async (and says so when DEBUG is
    # on); one such layer would hold a worker thread for the whole of every tool call.
    settings.DEBUG = True
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        ASGIHandler().load_middleware(is_async=True)
    adapted = [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()]
    assert adapted == []


@pytest.mark.django_db
async def test_static_files_are_still_served_under_asgi(async_client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # no collectstatic in tests
    response = await async_client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def test_the_static_middleware_keeps_working_in_a_sync_stack(rf):
    middleware = AsyncWhiteNoiseMiddleware(lambda request: "downstream")
    assert middleware(rf.get("/not-static/")) == "downstream"
