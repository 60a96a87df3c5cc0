from __future__ import annotations

import logging
import os
import sys

from mcpbridge.ghl.config import ConfigError, settings_from_env

# Check the environment before importing the MCP SDK (about a second), so a
# misconfigured child fails at once.
try:
    settings_from_env(os.environ)
except ConfigError as exc:
    sys.stderr.write(f"mcpbridge.ghl: {exc}\n")
    sys.exit(2)

from mcpbridge.ghl.server import main

code = main()
# Everything is closed and flushed once main returns; skipping the interpreter's
# teardown of the SDK's many models saves about half a second on every stop.
logging.shutdown()
sys.stderr.flush()
sys.__stdout__.flush()
os._exit(code)
