"""The stdio transport under the MCP session: newline-delimited JSON-RPC over a child's pipes.

The SDK's ``stdio_client`` cannot be used as it is (see ``child.py``), so the pumps are
ours: they bound what a child can make this process hold (one message, one log line),
turn a malformed answer into an error for the request it answers, and hand a line that
is no JSON-RPC at all to the child's bounded log instead of the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio
import mcp_types as types
import pydantic_core
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage

# Bounds on what a child can make this process hold: one JSON-RPC message.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_READ_CHUNK = 64 * 1024

Incoming = MemoryObjectSendStream[SessionMessage | Exception]
Outgoing = MemoryObjectReceiveStream[SessionMessage]


def parse_line(line: bytes) -> SessionMessage | None:
    """The message on ``line``, or None for a line that is no JSON-RPC message."""
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError:
        return _answer_to_malformed_response(line)


def _answer_to_malformed_response(line: bytes) -> SessionMessage | None:
    """An error for the request a malformed response answers, so its caller need not wait.

    The session drops a message it cannot validate; a response such as
    ``{"id": 7, "result": null}`` would then leave request 7 waiting for its
    time limit. Anything that is not recognisably a response stays dropped. The
    parser is pydantic's, as above: its depth limit fails as a ValueError, where the
    json module's would raise RecursionError out of the pump and end the session.
    """
    try:
        message = pydantic_core.from_json(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or not ("result" in message or "error" in message):
        return None
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    error = types.ErrorData(
        code=types.INTERNAL_ERROR, message="The tool process sent a malformed answer."
    )
    return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))


async def read_chunk(stream: asyncio.StreamReader) -> bytes:
    try:
        return await stream.read(_READ_CHUNK)
    except (ConnectionError, OSError):
        return b""


async def pump_stdout(
    stdout: asyncio.StreamReader,
    send: Incoming,
    *,
    on_stray: Callable[[bytes], None],
    on_oversized: Callable[[], None],
) -> bool:
    """Lines of ``stdout`` to the session; True when the pipe is done, False when the session is.

    A line that is no JSON-RPC message goes to ``on_stray``, never to the session:
    the SDK would start a task and call the message handler for each one, and a
    child printing debug output in a loop would cost this process a log record and
    a task per line.
    """
    buffer = bytearray()
    scanned = 0
    async with send:
        while chunk := await read_chunk(stdout):
            buffer += chunk
            while (end := buffer.find(b"\n", scanned)) >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                scanned = 0
                if not line.strip():
                    continue
                if (message := parse_line(line)) is None:
                    on_stray(line)
                elif not await _deliver(send, message):
                    return False
            scanned = len(buffer)
            if scanned > MAX_MESSAGE_BYTES:
                on_oversized()
                break
    return True


async def _deliver(send: Incoming, message: SessionMessage) -> bool:
    try:
        await send.send(message)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        return False
    return True


async def pump_stdin(stdin: asyncio.StreamWriter, receive: Outgoing) -> bool:
    """The session's messages to ``stdin``, one line each; False once the pipe broke."""
    async with receive:
        async for message in receive:
            data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
            try:
                stdin.write(data.encode() + b"\n")
                await stdin.drain()
            except (ConnectionError, OSError):
                return False
    return True


async def drain_lines(
    stream: asyncio.StreamReader, on_line: Callable[[str], None], *, max_line: int
) -> None:
    """Every line of ``stream`` to ``on_line``, a line longer than ``max_line`` in pieces."""
    pending = b""
    while chunk := await read_chunk(stream):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            on_line(line.decode(errors="replace"))
        if len(pending) > max_line:
            on_line(pending.decode(errors="replace"))
            pending = b""
    if pending:
        on_line(pending.decode(errors="replace"))
