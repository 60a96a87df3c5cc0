"""Encrypted model fields built on django-cryptography, keyed by :mod:`tenants.crypto`."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django_cryptography.fields import EncryptedMixin

from tenants import crypto


class UnreadableSecret:
    """A stored value that no configured key opens.

    It keeps the ciphertext, so saving other fields of the row writes it back
    unchanged: a missing key must never turn into lost data.
    """

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: bytes) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return "<UnreadableSecret>"

    def __str__(self) -> str:
        return "(unreadable)"

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnreadableSecret) and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash(self.ciphertext)


# How an encrypted value is spelled in a serialised export (dumpdata, fixtures).
EXPORT_PREFIX = "encrypted:"


class EncryptedTextField(EncryptedMixin, models.TextField):  # type: ignore[type-arg]  # generic only in the stubs
    """Text stored encrypted under the newest key of the ring, readable under any of them.

    A value that no key opens loads as :class:`UnreadableSecret` instead of
    raising, so one bad row cannot break a list of tenants.

    Serialisation (``dumpdata``) writes the ciphertext, never the plaintext, so
    an export is as safe as the database it came from; ``loaddata`` reads it
    back under the same key ring.
    """

    base_class = models.TextField
    wasinstance = True

    def _dump(self, value: Any) -> bytes:
        return crypto.encrypt(str(value).encode())

    def _load(self, value: bytes) -> str | UnreadableSecret:
        try:
            return crypto.decrypt(value).decode()
        except crypto.UndecryptableError:
            return UnreadableSecret(value)

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        ciphertext = value.ciphertext if isinstance(value, UnreadableSecret) else self._dump(value)
        return EXPORT_PREFIX + base64.b64encode(ciphertext).decode("ascii")

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(EXPORT_PREFIX):
            try:
                ciphertext = base64.b64decode(value.removeprefix(EXPORT_PREFIX), validate=True)
            except binascii.Error:
                return value
            return self._load(ciphertext)
        return super().to_python(value)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        if isinstance(value, UnreadableSecret):
            # Every backend's wrapper carries its DB-API module; the stubs leave it out.
            return connection.Database.Binary(value.ciphertext)  # type: ignore[attr-defined]
        return super().get_db_prep_value(value, connection, prepared)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        # Skip EncryptedMixin.deconstruct: it would name django-cryptography's
        # generic field, and migrations would lose this key ring.
        name, _path, args, kwargs = super(EncryptedMixin, self).deconstruct()
        return name, "tenants.fields.EncryptedTextField", list(args), kwargs

    def clone(self) -> EncryptedTextField:
        _name, _path, args, kwargs = self.deconstruct()
        return self.__class__(*args, **kwargs)
