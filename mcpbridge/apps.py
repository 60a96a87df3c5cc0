from __future__ import annotations

from django.apps import AppConfig


class McpBridgeConfig(AppConfig):
    name = "mcpbridge"
    verbose_name = "MCP bridge"

    def ready(self) -> None:
        # Wiring only: no process, file or socket is touched here, as every management
        # command runs this (the leftovers sweep waits for a server: see the registry).
        from config.health import register_detail
        from mcpbridge import registry
        from tenants.signals import credentials_changed

        register_detail("mcp", registry.health_detail)
        credentials_changed.connect(
            registry.on_credentials_changed, dispatch_uid="mcpbridge.recycle_children"
        )
