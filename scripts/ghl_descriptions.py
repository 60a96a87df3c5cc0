"""Our own one-line descriptions for catalogue operations whose spec title is not enough."""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {}
