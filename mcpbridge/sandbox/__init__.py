"""A local stand-in for GoHighLevel: its OAuth flow and the API the product uses.

A real HTTP server on loopback, with seeded data, GHL's headers, limits and error
shapes, and handles for tests (mint tokens, inject faults, read what it saw). It
is only ever used when something is explicitly pointed at it.
"""

from mcpbridge.sandbox.seed import ANA, APP_ID, BEN, COMPANY_ID, DENTAL, ROOFING
from mcpbridge.sandbox.server import Sandbox

__all__ = ["ANA", "APP_ID", "BEN", "COMPANY_ID", "DENTAL", "ROOFING", "Sandbox"]
