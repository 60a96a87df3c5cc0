from __future__ import annotations

import argparse
import logging
import os
import sys

from mcpbridge.ghl.config import ConfigError, settings_from_env

# The bridge gives a child only its credentials in the environment, so the tool
# set of a deployment travels on the command line (MCP_SERVER_COMMAND) instead.
parser = argparse.ArgumentParser(prog="python -m mcpbridge.ghl")
parser.add_argument("--toolset", help="core, full, or a comma list of groups (GHL_TOOLSET)")
arguments = parser.parse_args()
environ = dict(os.environ)
if arguments.toolset:
    environ["GHL_TOOLSET"] = arguments.toolset

# Check the environment before importing the MCP SDK (about a second), so a
# misconfigured child fails at once.
try:
    settings_from_env(environ)
except ConfigError as exc:
    sys.stderr.write(f"mcpbridge.ghl: {exc}\n")
    sys.exit(2)

from mcpbridge.ghl.server import main  # noqa: E402 (after the environment check, on purpose)

code = main(environ)
# Everything is closed and flushed once main returns; skipping the interpreter's
# teardown of the SDK's many models saves about half a second on every stop.
logging.shutdown()
sys.stderr.flush()
if sys.__stdout__ is not None:
    sys.__stdout__.flush()
os._exit(code)
