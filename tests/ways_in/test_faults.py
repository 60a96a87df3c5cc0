"""A failure nobody below expected still gets exactly one answer, in the way in's own shape."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection

from mcpbridge.ways_in import consumer, http_views
from tests.ways_in.conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)


def failing(exc: Exception):
    async def fail(**kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (OperationalError("server closed the connection unexpectedly"), 503, "service_unavailable"),
        (RuntimeError("a bug with a secret-ish detail"), 500, "internal_error"),
    ],
)
async def test_an_http_tool_call_answers_json_whatever_fails(
    world, monkeypatch, caplog, exc, status, code
):
    monkeypatch.setattr(http_views, "tenant_tool_call", failing(exc))
    api = Api({"Authorization": f"Bearer {world.acme_token}"})
    response = await api.post("/mcp/acme/tool/get_location", {})
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code
    assert str(exc) not in response.content.decode()
    logged = [r.levelname for r in caplog.records if r.name == "config.jsonapi"]
    if status == 503:
        assert response["Retry-After"] == str(response.json()["retry_after"])
        assert logged == ["WARNING"]  # an outage, not a bug: no traceback
    else:
        assert "Retry-After" not in response
        assert logged == ["ERROR"]


async def test_a_socket_call_gets_one_tool_error_when_the_database_fails(
    world, sockets, monkeypatch
):
    monkeypatch.setattr(consumer, "tenant_tool_call", failing(OperationalError("gone")))
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": "c", "name": "get_location"})
    event = await socket.final("c")
    assert (event["type"], event["code"]) == ("tool.error", "service_unavailable")
    assert event["retry_after"] >= 1
    # The socket still serves.
    await socket.send({"type": "tools.list", "id": "l"})
    assert (await socket.event())["type"] == "tools.list.result"


async def test_a_chat_send_gets_a_chat_error_when_the_turn_fails_unexpectedly(
    world, sockets, monkeypatch
):
    monkeypatch.setattr(consumer, "chat_turn", failing(OperationalError("gone")))
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "chat.send", "conversation": None, "text": "Hello"})
    event = await socket.event()
    assert (event["type"], event["code"]) == ("chat.error", "service_unavailable")
    assert event["conversation"] is None


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="stops the test database's connections; set DATABASE_URL",
)
async def test_during_a_real_database_outage_every_way_in_still_answers(
    world, sockets, db_outage, monkeypatch
):
    from mcpbridge.chat import turns

    monkeypatch.setattr(turns, "RECORD_RETRY_DELAYS", ())
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await sync_to_async(db_outage)()

    await socket.send({"type": "tools.call", "id": "c", "name": "get_location"})
    event = await socket.final("c")
    assert (event["type"], event["code"]) == ("tool.error", "service_unavailable")
    await socket.send({"type": "tools.list", "id": "l"})
    event = await socket.until(lambda e: e.get("id") == "l")
    assert (event["type"], event["code"]) == ("error", "service_unavailable")
    await socket.send({"type": "chat.send", "conversation": None, "text": "Hello"})
    event = await socket.until(lambda e: e["type"] in ("chat.done", "chat.error"))
    assert (event["type"], event["code"]) == ("chat.error", "service_unavailable")
    response = await Api({"Authorization": f"Bearer {world.acme_token}"}).post(
        "/mcp/acme/tool/get_location", {}
    )
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
    assert response["Retry-After"] == str(response.json()["retry_after"])

    # The database is back: within seconds the same socket serves again, and until then
    # each call is still answered.
    await sync_to_async(db_outage.end)()
    for attempt in range(30):
        await socket.send({"type": "tools.call", "id": f"d{attempt}", "name": "get_location"})
        event = await socket.final(f"d{attempt}")
        if event["type"] == "tool.result":
            break
        assert event["code"] == "service_unavailable", event
    assert event["type"] == "tool.result"
