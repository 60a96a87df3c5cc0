"""The websocket protocol, fuzzed: frames of every shape over a real socket (Hypothesis).

Each example opens a socket with an API token of ``acme`` (whose child is the real GHL
server against the sandbox) and sends a few frames: well-formed tool calls (real tools,
unknown names, odd arguments, ids of every shape), other messages, and malformed frames.
Every frame must get its answer, and nothing else may arrive: one ``tool.result`` or
``tool.error`` under the id of each call, one ``error`` event for each malformed frame
(under the call's id when it had a usable one), the listing, the refusals. The socket
must then still answer, and the server must have logged no error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from hypothesis import given, note
from hypothesis import strategies as st

from mcpbridge.audit import audit_drain
from mcpbridge.ways_in.payloads import MAX_ID_LENGTH, MAX_NAME_LENGTH
from tests.fuzz.conftest import ANSWER_IN, budget
from tests.ways_in.conftest import Socket, ws_headers

pytestmark = pytest.mark.django_db(transaction=True)

CHEAP_TOOLS = ("get_location", "search_contacts", "get_contact", "search_operations")
KNOWN_TYPES = ("tools.list", "tools.call", "call.cancel", "chat.send", "chat.stop", "tool.approve")
TYPES = {
    "tool.result": "final",
    "tool.error": "final",
    "chat.done": "chat.end",
    "chat.error": "chat.end",
}

# Any character a JSON string can carry, lone surrogates and NUL included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(ANY_TEXT.filter(lambda s: len(s) < 16), children, max_size=4)
    ),
    max_leaves=12,
)


@dataclass(frozen=True)
class Expected:
    """The one answer a frame is owed: an event ``type`` (``final`` for a call's result or
    error, ``chat.end`` for a turn's done or error), under ``id`` when the answer carries
    one, with ``code`` when it is a refusal; ``optional`` when it may not come at all."""

    type: str
    id: Any = None
    code: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class Frame:
    text: str | None
    data: bytes | None
    expected: Expected


# --- ids -----------------------------------------------------------------------------------

GOOD_IDS = (
    st.integers()
    | st.integers(min_value=2**63)
    | st.integers(max_value=-(2**63))
    | st.text(st.characters(codec=None, categories=None), min_size=1, max_size=MAX_ID_LENGTH)
)
BAD_IDS = (
    st.booleans()
    | st.floats()
    | st.none()
    | st.just("")
    | st.text(min_size=MAX_ID_LENGTH + 1, max_size=MAX_ID_LENGTH + 40)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
)


def _fresh_id(draw: st.DrawFn, used: set[Any]) -> Any:
    """A usable id not yet used in this example: the answers are told apart by it."""
    value = draw(GOOD_IDS)
    spare = 10**9
    while _key(value) in used:
        value, spare = spare, spare + 1
    used.add(_key(value))
    return value


def _key(value: Any) -> Any:
    return (type(value).__name__, value)


# --- frames --------------------------------------------------------------------------------


def _dump(message: Any, ascii_only: bool) -> str:
    # A real websocket frame is UTF-8: a lone surrogate can only travel escaped.
    try:
        text = json.dumps(message, ensure_ascii=ascii_only)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(message)
    return text


def _lone_surrogate(text: str) -> bool:
    """Whether the frame, once decoded, holds half a surrogate pair (not text at all)."""
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


ARGUMENTS = (
    st.just({})
    | st.just({})
    | st.none()
    | st.dictionaries(ANY_TEXT.filter(lambda s: len(s) < 24), JSON, max_size=5)
    | st.builds(lambda q: {"query": q}, ANY_TEXT)
    | st.builds(lambda n: {"query": "x" * n}, st.integers(1, 300_000))
    | st.builds(lambda d: {"filters": _nested(d)}, st.integers(1, 400))
    | st.builds(lambda c: {"contactId": c}, ANY_TEXT | st.integers())
)
TOOL_NAMES = (
    st.sampled_from(CHEAP_TOOLS)
    | st.sampled_from(CHEAP_TOOLS)
    | st.text(st.characters(codec=None, categories=None), min_size=1, max_size=MAX_NAME_LENGTH)
)


@st.composite
def good_call(draw: st.DrawFn, used: set[Any]) -> tuple[dict[str, Any], Expected]:
    call_id = _fresh_id(draw, used)
    message: dict[str, Any] = {"type": "tools.call", "id": call_id, "name": draw(TOOL_NAMES)}
    arguments = draw(ARGUMENTS)
    if arguments is not None or draw(st.booleans()):
        message["arguments"] = arguments
    return message, Expected("final", call_id)


@st.composite
def bad_call(draw: st.DrawFn, used: set[Any]) -> tuple[dict[str, Any], Expected]:
    """A tools.call with one thing wrong: its id, or (under a usable id) its name or
    arguments."""
    flaw = draw(st.sampled_from(["id", "no_id", "name", "arguments"]))
    message: dict[str, Any] = {"type": "tools.call", "name": draw(TOOL_NAMES)}
    if flaw in ("id", "no_id"):
        if flaw == "id":
            message["id"] = draw(BAD_IDS)
        return message, Expected("error", code="invalid_message")
    call_id = message["id"] = _fresh_id(draw, used)
    if flaw == "name":
        message["name"] = draw(
            st.just("") | st.text(min_size=MAX_NAME_LENGTH + 1, max_size=200) | SCALARS
        )
        if isinstance(message["name"], str) and 0 < len(message["name"]) <= MAX_NAME_LENGTH:
            message["name"] = ""
    else:
        message["arguments"] = draw(
            st.lists(JSON, max_size=3) | st.text() | st.integers() | st.booleans()
        )
    return message, Expected("error", call_id, "invalid_message")


@st.composite
def other_message(draw: st.DrawFn, used: set[Any]) -> tuple[dict[str, Any], Expected]:
    """The other message types, well-formed: each has one answer on a program's socket."""
    kind = draw(st.sampled_from(KNOWN_TYPES[:1] + KNOWN_TYPES[2:]))
    conversation = draw(st.none() | st.integers(min_value=1))
    if kind == "tools.list":
        if draw(st.booleans()):
            return {"type": kind}, Expected("tools.list.result")
        list_id = _fresh_id(draw, used)
        return {"type": kind, "id": list_id}, Expected("tools.list.result", list_id)
    if kind == "call.cancel":
        cancel_id = _fresh_id(draw, used)
        return {"type": kind, "id": cancel_id}, Expected("error", cancel_id, "unknown_call")
    if kind == "chat.send":
        text = draw(st.text().filter(lambda t: "\x00" not in t))
        # Conversations belong to people: a token is refused (or told a turn is running),
        # or the turn is stopped first; either way it ends.
        return {"type": kind, "conversation": conversation, "text": text}, Expected("chat.end")
    if kind == "chat.stop":
        # Nothing of its own when it stops a turn: the turn ends with chat.done.
        not_running = Expected("error", None, "not_running", optional=True)
        return {"type": kind, "conversation": conversation}, not_running
    approve_id = _fresh_id(draw, used)
    message = {
        "type": kind,
        "conversation": draw(st.integers(min_value=1)),
        "id": approve_id,
        "decision": draw(st.sampled_from(["approve", "reject"])),
    }
    # unknown_approval for a member's token; a viewer's is refused before that.
    return message, Expected("error", str(approve_id))


@st.composite
def malformed_message(draw: st.DrawFn) -> tuple[Any, Expected]:
    """JSON that is no message: not an object, no type, an unknown type, wrong fields."""
    kind = draw(st.sampled_from(["not_object", "no_type", "unknown_type", "fields"]))
    if kind == "not_object":
        return draw(SCALARS | st.lists(JSON, max_size=3)), Expected("error", code="invalid_message")
    if kind == "no_type":
        body = draw(st.dictionaries(ANY_TEXT, JSON, max_size=3))
        body["type"] = draw(SCALARS.filter(lambda v: not isinstance(v, str)) | st.lists(SCALARS))
        if draw(st.booleans()):
            del body["type"]
        return body, Expected("error", code="invalid_message")
    if kind == "unknown_type":
        kind_text = draw(ANY_TEXT.filter(lambda s: s not in KNOWN_TYPES))
        return {"type": kind_text, "id": 1}, Expected("error", code="unknown_type")
    message = draw(
        st.sampled_from(
            [
                {"type": "call.cancel"},
                {"type": "chat.send", "conversation": None},
                {"type": "chat.send", "conversation": None, "text": "hi\x00there"},
                {"type": "chat.send", "conversation": 0, "text": "hi"},
                {"type": "chat.stop", "conversation": "1"},
                {"type": "chat.stop", "conversation": True},
                {"type": "tool.approve", "conversation": None, "id": "a", "decision": "approve"},
                {"type": "tool.approve", "conversation": 1, "decision": "approve"},
                {"type": "tools.list", "id": None},
                {"type": "tools.list", "id": ""},
            ]
        )
    )
    return message, Expected("error", code="invalid_message")


@st.composite
def frames(draw: st.DrawFn) -> list[Frame]:
    used: set[Any] = set()
    sent: list[Frame] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(["good", "good", "good", "bad_call", "other", "malformed", "raw"])
        )
        if kind == "raw":
            sent.append(draw(raw_frame()))
            continue
        if kind == "good":
            message, expected = draw(good_call(used))
        elif kind == "bad_call":
            message, expected = draw(bad_call(used))
        elif kind == "other":
            message, expected = draw(other_message(used))
        else:
            message, expected = draw(malformed_message())
        text = _dump(message, draw(st.booleans()))
        if len(text.encode("utf-8")) > settings.WS_MAX_FRAME_BYTES:
            expected = Expected("error", code="frame_too_large")
        elif _lone_surrogate(text):
            expected = Expected("error", code="invalid_json")
        sent.append(Frame(text, None, expected))
    return sent


@st.composite
def raw_frame(draw: st.DrawFn) -> Frame:
    """Frames that are not JSON at all, or not text."""
    kind = draw(st.sampled_from(["garbage", "empty", "binary", "deep", "huge"]))
    if kind == "binary":
        return Frame(None, draw(st.binary()), Expected("error", code="invalid_message"))
    if kind == "deep":
        # Far deeper than any recursion limit, yet within the frame size.
        depth = draw(st.integers(10_000, settings.WS_MAX_FRAME_BYTES // 2))
        return Frame("[" * depth + "]" * depth, None, Expected("error", code="invalid_json"))
    if kind == "huge":
        size = settings.WS_MAX_FRAME_BYTES + draw(st.integers(1, 4096))
        return Frame('"' + "x" * size + '"', None, Expected("error", code="frame_too_large"))
    text = "" if kind == "empty" else draw(st.text(min_size=1).filter(_not_json))
    return Frame(text, None, Expected("error", code="invalid_json"))


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


# --- the property --------------------------------------------------------------------------


class Answers:
    """The answers a socket owes, checked off as its events arrive."""

    def __init__(self, sent: list[Frame]) -> None:
        self.owed = [frame.expected for frame in sent]
        self.started: set[Any] = set()

    def settle(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        assert kind != "websocket.close", f"the socket closed: {event}"
        if kind in ("tool.started", "tool.progress"):
            key = _key(event["id"])
            assert Expected("final", event["id"]) in self.owed, f"not a running call's: {event}"
            if kind == "tool.started":
                assert key not in self.started, f"a second tool.started: {event}"
                self.started.add(key)
            return
        if kind in ("error", "tool.error", "chat.error"):
            assert event["code"], event
            assert event["message"], event
        owed = self._owed_for(event)
        assert owed is not None, f"an answer nothing was owed: {event}; owed: {self.owed}"
        self.owed.remove(owed)

    def _owed_for(self, event: dict[str, Any]) -> Expected | None:
        kind = TYPES.get(event["type"], event["type"])
        key = _key(event["id"]) if "id" in event else None
        candidates = [
            owed
            for owed in self.owed
            if owed.type == kind and (None if owed.id is None else _key(owed.id)) == key
        ]
        exact = [owed for owed in candidates if owed.code == event.get("code")]
        return (exact or [owed for owed in candidates if owed.code is None] or [None])[0]

    @property
    def settled(self) -> bool:
        return all(owed.optional for owed in self.owed)


def _shown(data: str | bytes | None) -> str:
    return "" if data is None else repr(data[:300]) + ("..." if len(data) > 300 else "")


async def _send(socket: Socket, frame: Frame) -> None:
    message = {"type": "websocket.receive", "text": frame.text, "bytes": frame.data}
    await socket.communicator.send_input(message)


async def _event(socket: Socket, answers: Answers) -> dict[str, Any]:
    try:
        return await socket.event(ANSWER_IN)
    except TimeoutError:
        raise AssertionError(f"no answer in {ANSWER_IN} s; still owed: {answers.owed}") from None


async def _still_answers(socket: Socket, answers: Answers) -> None:
    """A probe gets its own answer, and nothing arrives before it that was not owed."""
    await socket.send({"type": "call.cancel", "id": "probe"})
    while True:
        event = await _event(socket, answers)
        if (event["type"], event.get("id"), event.get("code")) == (
            "error",
            "probe",
            "unknown_call",
        ):
            return
        answers.settle(event)


@given(sent=frames(), viewer=st.sampled_from([False, False, False, True]))
@budget(100)
async def test_every_frame_gets_its_one_answer_and_the_socket_goes_on(
    world, fuzz_limits, error_log, sent, viewer
):
    note(f"frames: {[(_shown(f.text), _shown(f.data), f.expected) for f in sent]}")
    token = world.acme_viewer_token if viewer else world.acme_token
    socket = Socket("/ws/tenants/acme/", ws_headers(token=token, origin=None))
    await socket.open()
    try:
        for frame in sent:
            await _send(socket, frame)
        answers = Answers(sent)
        while not answers.settled:
            answers.settle(await _event(socket, answers))
        await _still_answers(socket, answers)
    finally:
        # A receive that timed out has already ended the application.
        if not socket.communicator.future.done():
            await socket.close()
    await audit_drain()
    assert error_log.take() == []
