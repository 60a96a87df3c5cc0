from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenants.rotation import field_encryption_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored GHL secret under the newest key of FIELD_ENCRYPTION_KEYS. "
        "Run it after putting a new key first; remove old keys only once it reports none "
        "re-encrypted and none unreadable."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=100, help="Secrets per transaction (default 100)."
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        report = field_encryption_rotate(batch_size=batch_size)
        self.stdout.write(
            f"Checked {report.checked} secrets: {report.re_encrypted} re-encrypted, "
            f"{report.current} already under the newest key, {len(report.unreadable)} unreadable."
        )
        if report.unreadable:
            raise CommandError(
                "No configured key opens the secrets of these tenants (left unchanged): "
                + ", ".join(report.unreadable)
            )
