from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from tenants.webhook_signatures import load_public_key

_KEYS = (
    ("GHL_WEBHOOK_PUBLIC_KEY", Ed25519PublicKey, "an Ed25519"),
    ("GHL_WEBHOOK_LEGACY_PUBLIC_KEY", RSAPublicKey, "an RSA"),
)


@register()
def webhook_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A webhook key that cannot be read would turn every GHL event away: say so at start."""
    errors: list[CheckMessage] = []
    for index, (setting, kind, label) in enumerate(_KEYS, start=1):
        text = getattr(settings, setting, "")
        if not text:
            continue
        try:
            key = load_public_key(text)
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), obj=setting, id=f"highlevel.E00{index}"))
            continue
        if not isinstance(key, kind):
            errors.append(
                Error(f"{setting} must be {label} public key.", id=f"highlevel.E00{index}")
            )
    return errors
