from __future__ import annotations

from django.apps import AppConfig


class HighLevelConfig(AppConfig):
    name = "tenants.highlevel"
    label = "highlevel"
    verbose_name = "Sign in with HighLevel"

    def ready(self) -> None:
        from tenants.highlevel import checks, receivers  # noqa: F401
