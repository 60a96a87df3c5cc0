"""One reply at a time per conversation, whatever window (socket, worker) asks: the real
ASGI application, registry, child and sandbox, the fake model, and the default cache."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from asgiref.sync import sync_to_async

from mcpbridge.chat.leases import (
    ConversationBusyError,
    conversation_lease_kept,
    conversation_lease_release,
    conversation_lease_take,
)
from mcpbridge.chat.models import Conversation, Message
from tests.chat.fake_model import Reply, error, text

pytestmark = pytest.mark.django_db(transaction=True)


def stored(conversation_id):
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("id")
        .values_list("role", "content")
    )


async def two_windows(sockets, user):
    first, second = await sockets("dental", user=user), await sockets("dental", user=user)
    await first.open()
    await second.open()
    return first, second


async def ended(socket):
    return await socket.until(lambda e: e["type"] in ("chat.done", "chat.error"))


async def test_a_second_window_is_refused_while_a_reply_is_written_and_sends_after_it(
    dental, model_settings, sockets
):
    _, user = dental
    held = threading.Event()
    model_settings.push(Reply(deltas=[{"content": "Looking"}], until=held), text("Done too."))
    first, second = await two_windows(sockets, user)
    await first.send({"type": "chat.send", "conversation": None, "text": "First question"})
    conversation = (await first.until(lambda e: e["type"] == "chat.delta"))["conversation"]

    await second.send({"type": "chat.send", "conversation": conversation, "text": "Meanwhile"})
    refused = await second.event()
    assert (refused["type"], refused["code"]) == ("chat.error", "conversation_busy")
    assert refused["conversation"] == conversation
    assert "already being written for this conversation in another window" in refused["message"]
    assert await sync_to_async(stored)(conversation) == [("user", "First question")]

    held.set()
    assert (await ended(first))["type"] == "chat.done"
    await second.send({"type": "chat.send", "conversation": conversation, "text": "Meanwhile"})
    assert (await ended(second))["type"] == "chat.done"
    assert await sync_to_async(stored)(conversation) == [
        ("user", "First question"),
        ("assistant", "Looking"),
        ("user", "Meanwhile"),
        ("assistant", "Done too."),
    ]
    assert len(model_settings.requests) == 2


async def stop(socket, conversation):
    await socket.send({"type": "chat.stop", "conversation": conversation})
    assert (await ended(socket))["stopped"] is True


async def disconnect(socket, conversation):
    await socket.close()


@pytest.mark.parametrize("end", [stop, disconnect], ids=["stop", "disconnect"])
async def test_a_stopped_or_abandoned_reply_frees_the_conversation(
    dental, model_settings, sockets, end
):
    _, user = dental
    model_settings.push(Reply(deltas=[{"content": "Thinking"}], hang=True), text("Go on."))
    first, second = await two_windows(sockets, user)
    await first.send({"type": "chat.send", "conversation": None, "text": "Long one"})
    conversation = (await first.until(lambda e: e["type"] == "chat.delta"))["conversation"]
    await end(first, conversation)
    await second.send({"type": "chat.send", "conversation": conversation, "text": "Next"})
    assert (await ended(second))["type"] == "chat.done"
    roles = [role for role, _ in await sync_to_async(stored)(conversation)]
    assert roles == ["user", "assistant", "user", "assistant"]


async def test_a_failed_reply_frees_the_conversation(dental, model_settings, sockets):
    _, user = dental
    model_settings.push(error(503, "overloaded", "server_error"), text("Back."))
    first, second = await two_windows(sockets, user)
    await first.send({"type": "chat.send", "conversation": None, "text": "Hello"})
    failed = await ended(first)
    assert failed["code"] == "model_unavailable"
    conversation = failed["conversation"]
    await second.send({"type": "chat.send", "conversation": conversation, "text": "Again"})
    assert (await ended(second))["type"] == "chat.done"


@pytest.mark.parametrize(
    "reply", [text("Done."), error(503, "overloaded", "server_error")], ids=["done", "failed"]
)
async def test_the_conversation_is_free_by_the_time_its_turn_says_it_ended(fake_model, turn, reply):
    # A page that hears the end may send the next message at once, from any window.
    fake_model.push(reply)
    taken = []

    async def take_at_the_end(event):
        if event["type"] in ("chat.done", "chat.error"):
            lease = conversation_lease_take(conversation_id=event["conversation"], seconds=5)
            taken.append(lease)

    await turn("Hello", emit=take_at_the_end)
    assert len(taken) == 1
    conversation_lease_release(lease=taken[0])


async def test_a_turn_stopped_while_its_message_is_stored_frees_the_conversation(
    fake_model, turn, events
):
    fake_model.push(text("Here."))
    task = asyncio.create_task(turn("Quick"))
    await asyncio.sleep(0)  # the turn is now waiting for its message to be stored
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    conversation = await Conversation.objects.aget()
    seen = events()
    await turn("Again", emit=seen, conversation_id=conversation.pk)
    assert seen.types[-1] == "chat.done"


async def test_with_the_cache_down_replies_are_still_written_and_the_log_says_so(
    fake_model, turn, events, settings, closed_port, caplog
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    fake_model.push(text("Still here."))
    seen = events()
    with caplog.at_level(logging.WARNING, logger="mcpbridge.chat.leases"):
        await turn("Anyone?", emit=seen)
    assert seen.types[-1] == "chat.done"
    assert "turn lease not taken: the cache failed: ConnectionError" in caplog.text


async def lapsed_and_retaken(*, conversation_id: int):
    """The lease of ``conversation_id``, taken as soon as the one left behind has lapsed."""
    async with asyncio.timeout(30):
        while True:
            try:
                return conversation_lease_take(conversation_id=conversation_id, seconds=1)
            except ConversationBusyError:
                await asyncio.sleep(0.05)


async def test_a_lease_outlives_its_time_while_kept_and_lapses_when_its_worker_is_gone():
    # Conversation ids no test database hands out, so nothing else holds these keys.
    # Renewed every second, a kept lease survives a busy machine delaying a renewal by 2 s.
    kept = conversation_lease_take(conversation_id=-1, seconds=3)
    abandoned = conversation_lease_take(conversation_id=-2, seconds=3)
    async with conversation_lease_kept(kept):
        retaken = await lapsed_and_retaken(conversation_id=-2)
        with pytest.raises(ConversationBusyError):
            conversation_lease_take(conversation_id=-1, seconds=1)
    assert retaken.token != abandoned.token
    conversation_lease_release(lease=retaken)
    again = conversation_lease_take(conversation_id=-1, seconds=1)
    conversation_lease_release(lease=again)
