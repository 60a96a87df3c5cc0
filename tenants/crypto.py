"""The key ring behind encrypted fields: the newest key encrypts, every key decrypts.

Keys come from ``FIELD_ENCRYPTION_KEYS`` (newest first). Each key is stretched
into separate AES and HMAC keys, so that nothing stored depends on
``SECRET_KEY``: django-cryptography's default signer would sign with it, and
rotating the session key would then make every stored token unreadable.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.core.signing import BadSignature
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken, pbkdf2

from config.errors import HubError

KDF_ITERATIONS = 100_000
DEFAULT_SALT = "ghl-agent-hub.field-encryption"


class UndecryptableError(HubError):
    """No configured key opens this value."""

    code = "undecryptable"
    default_message = "No configured key opens this value."
    permanent = True


@functools.lru_cache(maxsize=16)
def _fernet_for(key: str, salt: str) -> FernetBytes:
    material = pbkdf2(key, salt, KDF_ITERATIONS, dklen=64, digest=hashes.SHA256())
    return FernetBytes(material[:32], signer=FernetSigner(material[32:]))


def key_ring() -> list[FernetBytes]:
    salt = getattr(settings, "CRYPTOGRAPHY_SALT", DEFAULT_SALT)
    return [_fernet_for(key, salt) for key in settings.FIELD_ENCRYPTION_KEYS]


def encrypt(plaintext: bytes) -> bytes:
    return key_ring()[0].encrypt(plaintext)


def key_index(ciphertext: bytes) -> int | None:
    """Position in the ring of the key that opens ``ciphertext`` (0 is the newest), or None."""
    for index, fernet in enumerate(key_ring()):
        try:
            fernet.decrypt(ciphertext)
        except (BadSignature, InvalidToken):
            continue
        return index
    return None


def decrypt(ciphertext: bytes) -> bytes:
    for fernet in key_ring():
        try:
            return fernet.decrypt(ciphertext)
        except (BadSignature, InvalidToken):
            continue
    raise UndecryptableError("no configured key in FIELD_ENCRYPTION_KEYS opens this value")
