from django.apps import AppConfig


class McpBridgeConfig(AppConfig):
    name = "mcpbridge"
    verbose_name = "MCP bridge"
