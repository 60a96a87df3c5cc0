from __future__ import annotations

import sys

from mcpbridge.ghl.server import main

sys.exit(main())
