"""The GHL MCP server each tenant's child process runs (``python -m mcpbridge.ghl``).

It is a program of its own: it reads its configuration from the environment and
imports nothing from Django or the rest of the project.
"""
