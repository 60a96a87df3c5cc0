"""Malformed, oversized and too-frequent frames: an error event each, and the socket goes on."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def still_answers(socket) -> bool:
    """The socket still handles messages (checked without starting a child)."""
    await socket.send({"type": "call.cancel", "id": "probe"})
    event = await socket.until(lambda e: e.get("id") == "probe")
    return event["code"] == "unknown_call"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ("{", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('"tools.list"', "invalid_message"),
        ("{}", "invalid_message"),
        ('{"type": 5}', "invalid_message"),
        ('{"type": "tools.launch"}', "unknown_type"),
        ('{"type": "tools.call", "name": "get_location"}', "invalid_message"),
        ('{"type": "tools.call", "id": [1], "name": "get_location"}', "invalid_message"),
        ('{"type": "tools.call", "id": true, "name": "get_location"}', "invalid_message"),
        ('{"type": "tools.call", "id": "", "name": "get_location"}', "invalid_message"),
        ('{"type": "tools.call", "id": 1, "name": 42}', "invalid_message"),
        ('{"type": "tools.call", "id": 1, "name": "x", "arguments": "a=1"}', "invalid_message"),
        ('{"type": "tools.call", "id": 1, "name": "x", "arguments": [1]}', "invalid_message"),
        ('{"type": "call.cancel"}', "invalid_message"),
        ('{"type": "tools.list", "id": {"a": 1}}', "invalid_message"),
        ('{"type": "chat.send", "conversation": null, "text": "hi\\u0000"}', "invalid_message"),
        ("[" * 100_000 + "]" * 100_000, "invalid_json"),
        # Half a surrogate pair is no text: no database, pipe or GHL takes it.
        (
            '{"type": "tools.call", "id": 1, "name": "x", "arguments": {"q": "\\udc00"}}',
            "invalid_json",
        ),
        ('{"type": "tools.call", "id": 1, "name": "get_\\ud800location"}', "invalid_json"),
    ],
)
async def test_a_malformed_message_gets_an_error_event_and_the_socket_stays(
    world, sockets, frame, code
):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send_text(frame)
    event = await socket.event()
    assert (event["type"], event["code"]) == ("error", code)
    assert event["message"]
    assert await still_answers(socket)


async def test_a_bad_call_with_an_id_is_answered_under_that_id(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": "c7", "name": "x", "arguments": "nope"})
    assert (await socket.event())["id"] == "c7"


async def test_a_binary_frame_gets_an_error_event(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.communicator.send_to(bytes_data=b'{"type": "tools.list"}')
    assert (await socket.event())["code"] == "invalid_message"
    assert await still_answers(socket)


async def test_a_frame_over_256_kb_gets_frame_too_large(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    padding = "x" * (256 * 1024)
    await socket.send({"type": "tools.call", "id": 1, "name": "echo", "arguments": {"p": padding}})
    event = await socket.event()
    assert (event["type"], event["code"]) == ("error", "frame_too_large")
    # Counted in bytes, not characters: 100,000 three-byte characters are too many.
    await socket.send_text('{"type": "tools.list", "id": "' + "€" * 100_000 + '"}')
    assert (await socket.event())["code"] == "frame_too_large"
    assert await still_answers(socket)


async def test_the_frame_size_limit_is_a_setting(world, sockets, settings):
    settings.WS_MAX_FRAME_BYTES = 2048
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send(
        {"type": "tools.call", "id": 1, "name": "echo", "arguments": {"p": "x" * 2100}}
    )
    assert (await socket.event())["code"] == "frame_too_large"


async def test_frames_beyond_the_per_second_limit_are_dropped_with_an_error(
    world, sockets, settings
):
    settings.WS_MAX_FRAMES_PER_SECOND = 5
    socket = await sockets("acme", user=world.member)
    await socket.open()
    for n in range(12):
        await socket.send({"type": "call.cancel", "id": n})
    events = [await socket.event() for _ in range(12)]
    codes = [event["code"] for event in events]
    assert codes.count("unknown_call") == 5
    assert codes.count("too_many_frames") == 7
    assert all(e["retry_after"] == 1 for e in events if e["code"] == "too_many_frames")
    await asyncio.sleep(1)
    assert await still_answers(socket)


async def test_a_flood_on_one_socket_leaves_other_sockets_and_the_server_working(
    world, sockets, settings
):
    settings.WS_MAX_FRAMES_PER_SECOND = 3
    flooding = await sockets("acme", user=world.member)
    calm = await sockets("acme", token=world.acme_token, origin=None)
    await flooding.open()
    await calm.open()
    for _ in range(50):
        await flooding.send_text("garbage")
    await calm.send({"type": "tools.call", "id": "ok", "name": "get_location"})
    result = await calm.final("ok")
    assert (result["type"], result["isError"]) == ("tool.result", False)
    await asyncio.sleep(1)
    assert await still_answers(flooding)
