"""Resolve compose.yaml as ``docker compose config`` would, for the parts the hub reads.

No container engine is needed: the file is parsed, every ``${...}`` is interpolated
from an env file (and the process environment, which wins, as in compose), and each
service's environment is assembled from its ``env_file`` and ``environment``.
A ``${X:?message}`` left empty fails, like compose. ``check`` then loads the web
service's environment into the hub's settings and runs ``check --deploy``, so a
variable that resolves to an invalid value fails too.

    python scripts/compose_env.py --env-file .env env web     KEY=VALUE lines
    python scripts/compose_env.py --env-file .env check       resolve and check
    python scripts/compose_env.py --from-example check        .env.example, fresh keys
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ComposeError(Exception):
    """The file cannot be resolved: a required variable is empty, or the syntax is wrong."""


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments; values taken as written, quotes removed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            raise ComposeError(f"{path}:{number}: not a KEY=VALUE line")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ComposeError(f"unclosed ${{ in {text!r}")


def _expand(expression: str, variables: Mapping[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", expression, re.S)
    if not match:
        raise ComposeError(f"invalid interpolation ${{{expression}}}")
    name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
    value = variables.get(name)
    unset_or_empty = value is None or ((operator or "").startswith(":") and value == "")
    if operator in {":-", "-"}:
        return interpolate(argument, variables) if unset_or_empty else str(value)
    if operator in {":?", "?"}:
        if unset_or_empty:
            raise ComposeError(f"required variable {name} is missing a value: {argument}")
        return str(value)
    if operator in {":+", "+"}:
        return "" if unset_or_empty else interpolate(argument, variables)
    return value or ""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
        elif text.startswith("$$", index):
            out.append("$")
            index += 2
        elif text.startswith("${", index):
            end = _closing_brace(text, index + 1)
            out.append(_expand(text[index + 2 : end], variables))
            index = end + 1
        elif name := _NAME.match(text, index + 1):
            out.append(variables.get(name.group(0), ""))
            index = name.end()
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _interpolate_tree(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolate_tree(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, variables) for key, value in node.items()}
    return node


def _environment_entries(raw: Any, variables: Mapping[str, str]) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        pairs = [str(item).partition("=") for item in raw]
        raw = {key: (value if sep else None) for key, sep, value in pairs}
    # A bare name takes its value from the environment compose runs in.
    return {
        str(key): variables.get(str(key), "") if value is None else _scalar(value)
        for key, value in raw.items()
    }


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        raise ComposeError(f"environment value {value!r} must be quoted (compose refuses it)")
    return str(value)


def load(compose_file: Path, env_file: Path, *, shell: Mapping[str, str] | None = None) -> dict:
    """The compose file with every ``${...}`` resolved (shell wins over the env file)."""
    variables = {**read_env_file(env_file), **(os.environ if shell is None else shell)}
    document = yaml.safe_load(compose_file.read_text())
    if not isinstance(document, dict) or "services" not in document:
        raise ComposeError(f"{compose_file} has no services")
    resolved = _interpolate_tree(document, variables)
    resolved["_variables"] = variables
    return resolved


def service_environment(resolved: dict, service: str, *, env_file: Path) -> dict[str, str]:
    """What the service's container gets: its env_file values, then ``environment``."""
    spec = resolved["services"].get(service)
    if spec is None:
        raise ComposeError(f"no service {service!r}")
    files = spec.get("env_file") or []
    environment: dict[str, str] = {}
    for name in [files] if isinstance(files, str) else files:
        path = name if isinstance(name, str) else name["path"]
        # The stack's .env is the env file being resolved with.
        environment.update(read_env_file(env_file if path == ".env" else Path(path)))
    environment.update(_environment_entries(spec.get("environment"), resolved["_variables"]))
    return environment


GENERATED_KEYS = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "METRICS_TOKEN", "POSTGRES_PASSWORD")


def env_file_from_example(
    destination: Path, *, example: Path | None = None, values: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``.env.example`` as an operator fills it: fresh keys, and ``values`` set.

    Returns what was filled in. Lines keep their order and comments.
    """
    filled = {name: secrets.token_urlsafe(50) for name in GENERATED_KEYS}
    filled.update(values or {})
    lines = []
    source = example or REPO_ROOT / ".env.example"
    for line in source.read_text().splitlines():
        key = line.partition("=")[0].strip()
        if not line.lstrip().startswith("#") and key in filled:
            line = f"{key}={filled[key]}"
        lines.append(line)
    missing = set(filled) - {line.partition("=")[0] for line in lines}
    lines.extend(f"{key}={filled[key]}" for key in sorted(missing))
    destination.write_text("\n".join(lines) + "\n")
    return filled


def deploy_check(environment: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``manage.py check --deploy`` under exactly ``environment`` (and a PATH to run)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **environment}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=REPO_ROOT / "compose.yaml")
    parser.add_argument("--env-file", type=Path, default=REPO_ROOT / ".env")
    parser.add_argument(
        "--from-example", action="store_true", help=".env.example filled with fresh keys"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("env").add_argument("service")
    commands.add_parser("check").add_argument("service", nargs="?", default="web")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        if args.from_example:
            args.env_file = Path(scratch) / ".env"
            env_file_from_example(args.env_file)
        return _command(args)


def _command(args: argparse.Namespace) -> int:
    try:
        resolved = load(args.file, args.env_file)
        environment = service_environment(resolved, args.service, env_file=args.env_file)
    except ComposeError as error:
        print(f"compose: {error}", file=sys.stderr)
        return 1
    if args.command == "env":
        for key, value in sorted(environment.items()):
            print(f"{key}={value}")
        return 0
    checked = deploy_check(environment)
    sys.stderr.write(checked.stdout + checked.stderr)
    return checked.returncode


if __name__ == "__main__":
    sys.exit(main())
