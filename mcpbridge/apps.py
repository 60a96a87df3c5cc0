from __future__ import annotations

from django.apps import AppConfig


class McpBridgeConfig(AppConfig):
    name = "mcpbridge"
    verbose_name = "MCP bridge"

    def ready(self) -> None:
        from config.health import register_detail
        from mcpbridge import registry
        from tenants.signals import credentials_changed

        register_detail("mcp", registry.health_detail)
        registry.sweep_at_start()
        credentials_changed.connect(
            registry.on_credentials_changed, dispatch_uid="mcpbridge.recycle_children"
        )
