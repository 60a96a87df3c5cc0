from __future__ import annotations

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

sys.exit(main())
