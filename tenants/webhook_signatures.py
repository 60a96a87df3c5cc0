"""Is this request from GHL? Verify its webhook signature over the raw body.

``X-GHL-Signature`` (base64 Ed25519) is GHL's current scheme; when it is
present it alone decides. ``X-WH-Signature`` (base64 RSA-SHA256, PKCS#1 v1.5)
is the legacy scheme, accepted only without the other header, and only while
``GHL_WEBHOOK_LEGACY_PUBLIC_KEY`` is set.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.errors import HubError

ED25519_HEADER = "X-GHL-Signature"
RSA_HEADER = "X-WH-Signature"
_MAX_SIGNATURE = 2048


class SignatureRejectedError(HubError):
    """Missing, malformed or wrong signature; the message says which, never more."""

    code = "invalid_signature"
    permanent = True


@functools.lru_cache(maxsize=8)
def load_public_key(text: str) -> Ed25519PublicKey | RSAPublicKey:
    """A public key from a PEM, or from the base64 body of one (handy in env files)."""
    body = "".join(
        line for line in text.replace("\\n", "\n").splitlines() if not line.startswith("-----")
    )
    try:
        key = serialization.load_der_public_key(base64.b64decode("".join(body.split())))
    except (ValueError, binascii.Error) as exc:
        raise ImproperlyConfigured(f"A GHL webhook public key cannot be read: {exc}") from None
    if not isinstance(key, Ed25519PublicKey | RSAPublicKey):
        raise ImproperlyConfigured("A GHL webhook public key must be Ed25519 or RSA.")
    return key


def _decoded(signature: str) -> bytes:
    if len(signature) > _MAX_SIGNATURE:
        raise SignatureRejectedError("The signature is too long.")
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise SignatureRejectedError("The signature is not base64.") from None


def _verify(key: Ed25519PublicKey | RSAPublicKey, signature: bytes, body: bytes) -> None:
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, body)
        else:
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureRejectedError("The signature does not match the body.") from None


def _key_for(setting: str, expected: type) -> Ed25519PublicKey | RSAPublicKey | None:
    text = getattr(settings, setting, "")
    if not text:
        return None
    key = load_public_key(text)
    if not isinstance(key, expected):
        raise ImproperlyConfigured(f"{setting} must be an {expected.__name__.removesuffix('Key')}.")
    return key


def webhook_signature_verify(*, body: bytes, headers: Mapping[str, str]) -> str:
    """The scheme that proved ``body`` came from GHL; raises :class:`SignatureRejectedError`."""
    current = headers.get(ED25519_HEADER)
    legacy = headers.get(RSA_HEADER)
    if current:
        key = _key_for("GHL_WEBHOOK_PUBLIC_KEY", Ed25519PublicKey)
        if key is None:
            raise SignatureRejectedError("Ed25519 signatures are not accepted here.")
        _verify(key, _decoded(current), body)
        return "ed25519"
    if legacy:
        key = _key_for("GHL_WEBHOOK_LEGACY_PUBLIC_KEY", RSAPublicKey)
        if key is None:
            raise SignatureRejectedError("Legacy RSA signatures are not accepted here.")
        _verify(key, _decoded(legacy), body)
        return "rsa-sha256"
    raise SignatureRejectedError(f"The request carries no {ED25519_HEADER} signature.")
