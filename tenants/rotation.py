"""Re-encrypt stored secrets under the newest key of ``FIELD_ENCRYPTION_KEYS``."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import ExpressionWrapper, F

from tenants import crypto
from tenants.models import TenantSecret

ENCRYPTED_FIELDS = ("access_token", "refresh_token")


@dataclass
class RotationReport:
    re_encrypted: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return self.re_encrypted + self.current + len(self.unreadable)


def _raw_columns() -> dict[str, ExpressionWrapper[F]]:
    # The stored ciphertext as bytes, bypassing the field's decryption.
    return {
        f"raw_{name}": ExpressionWrapper(F(name), output_field=models.BinaryField())
        for name in ENCRYPTED_FIELDS
    }


def _rotate_one(secret: TenantSecret, report: RotationReport) -> None:
    indexes = [crypto.key_index(bytes(getattr(secret, f"raw_{name}"))) for name in ENCRYPTED_FIELDS]
    if None in indexes:
        report.unreadable.append(secret.tenant.slug)
    elif set(indexes) == {0}:
        report.current += 1
    else:
        # update(), not save(): the tokens did not change, so neither do
        # updated_at nor version, and running children are not recycled.
        TenantSecret.objects.filter(pk=secret.pk).update(
            **{name: getattr(secret, name) for name in ENCRYPTED_FIELDS}
        )
        report.re_encrypted += 1


def field_encryption_rotate(*, batch_size: int = 100) -> RotationReport:
    """Re-encrypt, in batches, every secret not yet under the newest key; safe to run again."""
    report = RotationReport()
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                TenantSecret.objects.select_for_update(of=("self",))
                .select_related("tenant")
                .annotate(**_raw_columns())
                .filter(pk__gt=last_pk)
                .order_by("pk")[:batch_size]
            )
            for secret in batch:
                _rotate_one(secret, report)
        if len(batch) < batch_size:
            return report
        last_pk = batch[-1].pk
