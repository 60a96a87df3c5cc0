from __future__ import annotations

import sys

from mcpbridge.sandbox.cli import main

sys.exit(main())
