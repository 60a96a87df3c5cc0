"""A small MCP server over stdio (standard library only) whose misbehaviour tests can choose.

Startup flags: --crash-on-start, --hang-on-init, --stderr-at-start BYTES, --ignore-eof,
--ignore-sigterm, --page-size N. Tools: echo, sleep, hang, freeze, crash, stderr, env,
pid, change_tools, grandchild, escape, read_file, leak_token, fail, error_result, say_token,
null_result, deep_result; and, callable but not listed, stdout_noise.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

_write_lock = threading.Lock()
_frozen = threading.Event()
_tools = ["echo", "sleep", "hang", "freeze", "crash", "stderr", "env", "pid"]
_tools += ["change_tools", "grandchild", "fail", "error_result", "say_token", "null_result"]
_tools += ["deep_result", "escape", "read_file", "leak_token"]


def send(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    with _write_lock:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def environment_of(result: Any) -> dict[str, str]:
    """The environment the ``env`` tool reported, from its call result."""
    encoded = json.loads(result.content[0].text)
    return {name: bytes.fromhex(value).decode() for name, value in encoded.items()}


def reply(request_id: Any, result: dict[str, Any]) -> None:
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def text(value: str, *, is_error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}], "isError": is_error}


def write_stderr(size: int) -> None:
    line = b"x" * 99 + b"\n"
    for _ in range(size // len(line)):
        sys.stderr.buffer.write(line)
    sys.stderr.buffer.flush()


def tool_sleep(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    token = request["params"].get("_meta", {}).get("progressToken")
    deadline = time.monotonic() + float(args.get("seconds", 1))
    step = 0
    while time.monotonic() < deadline:
        time.sleep(0.05)
        step += 1
        if token is not None and args.get("progress"):
            params = {"progressToken": token, "progress": step}
            send({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})
    return text("slept")


def tool_change_tools(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    _tools.append(f"extra{len(_tools)}")
    send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    return text("changed")


def tool_grandchild(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    process = subprocess.Popen(["sleep", "300"])
    return text(str(process.pid))


def tool_stdout_noise(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Lines that are not JSON-RPC on stdout (a debug print left in a server), then the answer."""
    token = os.environ.get("GHL_ACCESS_TOKEN", "")
    line = f"debug: garbage line holding {token} ".ljust(int(args.get("width", 100)), "x")
    data = (line + "\n").encode() * int(args.get("lines", 0))
    with _write_lock:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return text("noisy")


def tool_leak_token(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's token in a progress message, the text and the structured content, as a
    server echoing an upstream error body would send it."""
    token = os.environ.get("GHL_ACCESS_TOKEN", "")
    progress = request["params"].get("_meta", {}).get("progressToken")
    if progress is not None:
        params = {"progressToken": progress, "progress": 1, "message": f"using {token}"}
        send({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})
    result = text(f'GHL said: {{"message": "bad request", "authorization": "Bearer {token}"}}')
    result["structuredContent"] = {"echo": {"headers": [f"Bearer {token}"]}, "ok": False}
    return result


def tool_escape(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    # A process in a session of its own, with no pipe of ours: signals to the child's
    # group and the end of its pipes both miss it.
    process = subprocess.Popen(
        ["sleep", "300"],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return text(str(process.pid))


def tool_read_file(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    try:
        with open(str(args["path"]), "rb") as file:
            return text(file.read().decode(errors="replace"))
    except OSError as exc:
        return text(f"refused: {type(exc).__name__}", is_error=True)


def tool_hang(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    threading.Event().wait()
    return text("never")


def tool_freeze(request: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    _frozen.set()
    threading.Event().wait()
    return text("never")


TOOLS = {
    "echo": lambda request, args: text(str(args.get("text", ""))),
    "sleep": tool_sleep,
    "hang": tool_hang,
    "freeze": tool_freeze,
    "crash": lambda request, args: os._exit(int(args.get("code", 9))),
    "stderr": lambda request, args: (write_stderr(int(args.get("bytes", 0))), text("written"))[1],
    # Hex, so that the bridge's scrubbing of the tenant's token leaves it for tests to read.
    "env": lambda request, args: text(
        json.dumps({k: v.encode().hex() for k, v in os.environ.items()})
    ),
    "pid": lambda request, args: text(str(os.getpid())),
    "change_tools": tool_change_tools,
    "grandchild": tool_grandchild,
    "stdout_noise": tool_stdout_noise,
    "escape": tool_escape,
    "leak_token": tool_leak_token,
    "read_file": tool_read_file,
    "error_result": lambda request, args: text("bad input", is_error=True),
    "say_token": lambda request, args: (
        sys.stderr.write(f"token is {os.environ.get('GHL_ACCESS_TOKEN')}\n"),
        sys.stderr.flush(),
        text("said"),
    )[-1],
}


def call_tool(request: dict[str, Any]) -> None:
    name = request["params"]["name"]
    args = request["params"].get("arguments") or {}
    if name == "fail":
        error = {"code": -32000, "message": "the tool exploded"}
        send({"jsonrpc": "2.0", "id": request["id"], "error": error})
        return
    if name == "null_result":
        send({"jsonrpc": "2.0", "id": request["id"], "result": None})
        return
    if name == "deep_result":
        nested = "[" * 100_000 + "]" * 100_000
        line = f'{{"jsonrpc": "2.0", "id": {json.dumps(request["id"])}, "result": {nested}}}\n'
        with _write_lock:
            sys.stdout.buffer.write(line.encode())
            sys.stdout.buffer.flush()
        return
    if name not in TOOLS:
        error = {"code": -32602, "message": f"Unknown tool: {name}"}
        send({"jsonrpc": "2.0", "id": request["id"], "error": error})
        return
    reply(request["id"], TOOLS[name](request, args))


def list_tools(request: dict[str, Any], page_size: int) -> None:
    start = int(request.get("params", {}).get("cursor") or 0)
    names = _tools[start : start + page_size]
    tools = [{"name": n, "inputSchema": {"type": "object"}} for n in names]
    result: dict[str, Any] = {"tools": tools}
    if start + page_size < len(_tools):
        result["nextCursor"] = str(start + page_size)
    reply(request["id"], result)


def handle(request: dict[str, Any], options: dict[str, Any]) -> None:
    method = request.get("method")
    if "id" not in request:
        return
    if method == "initialize":
        if options["hang_on_init"]:
            return
        version = request["params"]["protocolVersion"]
        capabilities = {"tools": {"listChanged": True}}
        info = {"name": "test-server", "version": "1"}
        result = {"protocolVersion": version, "capabilities": capabilities, "serverInfo": info}
        reply(request["id"], result)
    elif method == "ping":
        reply(request["id"], {})
    elif method == "tools/list":
        list_tools(request, options["page_size"])
    elif method == "tools/call":
        threading.Thread(target=call_tool, args=(request,), daemon=True).start()
    else:
        send({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "no"}})


def parse_options(argv: list[str]) -> dict[str, Any]:
    options = {
        "hang_on_init": "--hang-on-init" in argv,
        "ignore_eof": "--ignore-eof" in argv,
        "page_size": 100,
    }
    if "--page-size" in argv:
        options["page_size"] = int(argv[argv.index("--page-size") + 1])
    if "--crash-on-start" in argv:
        sys.exit(3)
    if "--ignore-sigterm" in argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "--stderr-at-start" in argv:
        write_stderr(int(argv[argv.index("--stderr-at-start") + 1]))
    return options


def main() -> None:
    options = parse_options(sys.argv[1:])
    while line := sys.stdin.buffer.readline():
        if _frozen.is_set():
            break
        if line.strip():
            handle(json.loads(line), options)
    while options["ignore_eof"] or _frozen.is_set():
        time.sleep(1)


if __name__ == "__main__":
    main()
