"""A loopback fake of an OpenAI-compatible chat-completions server.

Real HTTP/1.1 on 127.0.0.1 and real server-sent events in the chat-completions chunk
format, answering ``POST /v1/chat/completions`` from a script of ``Reply`` objects,
one per request: streamed text, tool calls split across chunks (several in one
answer, in turn or interleaved), HTTP errors with OpenAI's error body, an error or a
dropped connection mid-stream, delays before the headers, before the first chunk and
between chunks, and a pause after the deltas until the test lets the answer end. It
records every request and when it sent each first chunk, and counts clients that went
away before it finished.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fake-model-1"


@dataclass
class Reply:
    """One scripted answer: ``deltas`` streamed as chunks, or an HTTP error."""

    deltas: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"
    status: int = 200
    error: dict[str, Any] | None = None
    header_delay: float = 0.0
    first_delay: float = 0.0
    delay: float = 0.0
    # After the deltas: an error event, a dropped connection, or silence (SSE comments only):
    # for good with ``hang``, until the event is set with ``until``.
    stream_error: dict[str, Any] | None = None
    drop: bool = False
    hang: bool = False
    until: threading.Event | None = None
    # Called once the deltas are out, before the stream ends (a fault at that moment).
    before_end: Callable[[], None] | None = None

    def silent(self) -> bool:
        return self.hang or (self.until is not None and not self.until.is_set())


def text(*pieces: str, delay: float = 0.0, first_delay: float = 0.0) -> Reply:
    """An answer streamed as ``pieces``, one chunk each."""
    return Reply(
        deltas=[{"content": piece} for piece in pieces], delay=delay, first_delay=first_delay
    )


def _split(raw: str, parts: int) -> list[str]:
    size = max(1, -(-len(raw) // parts))
    return [raw[i : i + size] for i in range(0, len(raw), size)] or [""]


def tool_calls(
    *calls: tuple[str, dict[str, Any] | str],
    say: str = "",
    parts: int = 3,
    interleave: bool = False,
    ids: list[str] | None = None,
) -> Reply:
    """An answer asking for ``calls`` (name, arguments), each call's arguments split in
    ``parts`` chunks; ``interleave`` mixes the calls' chunks as some servers do."""
    streams = []
    for index, (name, arguments) in enumerate(calls):
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call_id = ids[index] if ids else f"call_fake_{index}"
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        pieces = [
            {"index": index, "function": {"arguments": piece}} for piece in _split(raw, parts)
        ]
        streams.append([head, *pieces])
    if interleave:
        ordered = [p for group in itertools.zip_longest(*streams) for p in group if p is not None]
    else:
        ordered = [piece for stream in streams for piece in stream]
    deltas = [{"content": say}] if say else []
    deltas += [{"tool_calls": [piece]} for piece in ordered]
    return Reply(deltas=deltas, finish_reason="tool_calls")


def error(status: int, message: str, kind: str = "invalid_request_error") -> Reply:
    return Reply(status=status, error={"message": message, "type": kind, "code": None})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        fake = self.server.fake
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"Unknown path {self.path}", "type": "x"}})
            return
        body = json.loads(raw or b"{}")
        reply = fake.take(body, {k.lower(): v for k, v in self.headers.items()})
        fake.sleep(reply.header_delay)
        if reply.status != 200:
            self._json(reply.status, {"error": reply.error})
            return
        try:
            self._stream(reply, body)
        except (BrokenPipeError, ConnectionResetError):
            fake.note_disconnect()
            self.close_connection = True

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: Any) -> None:
        self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        fake.sleep(reply.first_delay)
        chunk_id = f"chatcmpl-fake-{fake.counter()}"
        deltas = [{"role": "assistant", "content": ""}, *reply.deltas]
        for n, delta in enumerate(deltas):
            if n > 1:
                fake.sleep(reply.delay)
            self._event(_chunk_payload(chunk_id, body, delta, None))
            if n == 0:
                fake.note_first_chunk()
        if reply.before_end is not None:
            reply.before_end()
        if reply.stream_error is not None:
            self._event({"error": reply.stream_error})
        elif reply.drop:
            self.close_connection = True
            return
        while reply.silent() and not fake.stopping.wait(0.05):
            # Comments keep the connection honest (a gone client breaks the pipe) but
            # carry no chunk, as a stalled model would.
            self._chunk(b": waiting\n\n")
        self._event(_chunk_payload(chunk_id, body, {}, reply.finish_reason))
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _chunk_payload(
    chunk_id: str, body: dict[str, Any], delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", MODEL),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeModel


class FakeModel:
    """The server, its script and what it saw. ``url`` is the base URL (ending in /v1)."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.first_chunks: list[float] = []
        self.disconnects = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True

    def __enter__(self) -> FakeModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def push(self, *replies: Reply) -> FakeModel:
        self.script.extend(replies)
        return self

    def take(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append({"body": body, "headers": headers, "at": time.perf_counter()})
            if self.script:
                return self.script.popleft()
        return error(500, "The fake model has no scripted reply left.", "server_error")

    def counter(self) -> int:
        return next(self._counter)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stopping.wait(seconds)

    def note_first_chunk(self) -> None:
        with self._lock:
            self.first_chunks.append(time.perf_counter())

    def note_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())
