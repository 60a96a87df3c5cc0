"""``manage.py purge_audit``: delete audit entries older than ``AUDIT_RETENTION_DAYS``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.audit import audit_purge


class Command(BaseCommand):
    help = "Delete audit log entries older than AUDIT_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Keep this many days instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = audit_purge(days=days)
        self.stdout.write(f"Deleted {deleted} audit entr{'y' if deleted == 1 else 'ies'}.")
