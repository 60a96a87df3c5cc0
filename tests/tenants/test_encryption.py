from __future__ import annotations

import base64

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.credentials import TenantSecretUnreadableError, get_tenant_secrets
from tenants.fields import EncryptedTextField, UnreadableSecret
from tenants.models import TenantSecret
from tenants.services import tenant_disable

pytestmark = pytest.mark.django_db

OLD_KEY = "old-field-key-0123456789-abcdefghijklmnopqrstuvwxyz"
NEW_KEY = "new-field-key-9876543210-zyxwvutsrqponmlkjihgfedcba"
LOST_KEY = "lost-field-key-5555555555-the-one-nobody-kept-around"
ACCESS = "eyJhbGciOiJIUzI1NiJ9.access-plaintext-for-acme.signature"
REFRESH = "refresh-plaintext-for-acme-0123456789"


def raw_columns(tenant_id: int) -> tuple[bytes, bytes]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM tenants_tenantsecret WHERE tenant_id = %s",
            [tenant_id],
        )
        access, refresh = cursor.fetchone()
    return bytes(access), bytes(refresh)


def run_rotation(**options) -> str:
    from io import StringIO

    out = StringIO()
    call_command("rotate_field_encryption", stdout=out, **options)
    return out.getvalue()


def test_the_database_column_never_holds_the_plaintext(tenant_factory):
    tenant = tenant_factory("acme", access_token=ACCESS, refresh_token=REFRESH)
    for raw, plaintext in zip(raw_columns(tenant.pk), (ACCESS, REFRESH), strict=True):
        assert plaintext.encode() not in raw
        assert base64.b64encode(plaintext.encode()) not in raw
        assert base64.urlsafe_b64encode(plaintext.encode())[:20] not in raw
    secrets = get_tenant_secrets(tenant)
    assert (secrets.access_token, secrets.refresh_token) == (ACCESS, REFRESH)


def test_two_writes_of_the_same_token_differ_on_disk(tenant_factory):
    first = tenant_factory(access_token=ACCESS)
    second = tenant_factory(access_token=ACCESS)
    assert raw_columns(first.pk)[0] != raw_columns(second.pk)[0]


def test_secrets_do_not_depend_on_secret_key(tenant_factory, settings):
    tenant = tenant_factory(access_token=ACCESS)
    settings.SECRET_KEY = "a-completely-different-session-key-" + "x" * 30
    assert get_tenant_secrets(tenant).access_token == ACCESS


def test_rows_written_under_an_old_key_read_after_a_new_key_is_put_first(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    tenant = tenant_factory(access_token=ACCESS, refresh_token=REFRESH)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    secrets = get_tenant_secrets(tenant)
    assert (secrets.access_token, secrets.refresh_token) == (ACCESS, REFRESH)


def test_new_writes_use_the_newest_key(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    tenant = tenant_factory(access_token=ACCESS)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert get_tenant_secrets(tenant).access_token == ACCESS


def test_rotation_re_encrypts_under_the_newest_key_and_is_idempotent(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    tenants = [tenant_factory(access_token=f"{ACCESS}-{n}") for n in range(3)]
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    already_new = tenant_factory(access_token="written-under-the-new-key")
    before = [raw_columns(t.pk) for t in tenants]
    versions = list(TenantSecret.objects.order_by("pk").values_list("version", "updated_at"))

    first = run_rotation(batch_size=2)

    assert "Checked 4 secrets: 3 re-encrypted, 1 already under the newest key, 0 unreadable" in (
        first
    )
    assert [raw_columns(t.pk) for t in tenants] != before
    assert list(TenantSecret.objects.order_by("pk").values_list("version", "updated_at")) == (
        versions
    )
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert [get_tenant_secrets(t).access_token for t in tenants] == [
        f"{ACCESS}-{n}" for n in range(3)
    ]
    assert get_tenant_secrets(already_new).access_token == "written-under-the-new-key"

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    after_first = [raw_columns(t.pk) for t in tenants]
    second = run_rotation(batch_size=1)
    assert "Checked 4 secrets: 0 re-encrypted, 4 already under the newest key" in second
    assert [raw_columns(t.pk) for t in tenants] == after_first


def test_rotation_reports_unreadable_rows_by_tenant_and_leaves_them_alone(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = [LOST_KEY]
    lost = tenant_factory("lost-co", access_token=ACCESS)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    fine = tenant_factory("fine-co", access_token="fine-token")
    before = raw_columns(lost.pk)

    with pytest.raises(CommandError, match="lost-co"):
        run_rotation()

    assert raw_columns(lost.pk) == before
    assert get_tenant_secrets(fine).access_token == "fine-token"


def test_rotation_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="batch-size"):
        run_rotation(batch_size=0)


def test_a_row_no_key_opens_names_its_tenant_and_spares_the_others(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = [LOST_KEY]
    lost = tenant_factory("lost-co", access_token=ACCESS)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    fine = tenant_factory("fine-co", access_token="fine-token")

    with pytest.raises(TenantSecretUnreadableError, match="lost-co") as caught:
        get_tenant_secrets(lost)
    assert ACCESS not in str(caught.value)
    assert get_tenant_secrets(fine).access_token == "fine-token"
    fine_secret, lost_secret = TenantSecret.objects.order_by("tenant__slug")
    assert isinstance(lost_secret.access_token, UnreadableSecret)
    assert not lost_secret.is_readable
    assert fine_secret.is_readable


def test_saving_an_unreadable_row_keeps_its_ciphertext(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = [LOST_KEY]
    tenant = tenant_factory("lost-co", access_token=ACCESS, refresh_token=REFRESH)
    before = raw_columns(tenant.pk)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    secret = TenantSecret.objects.get(tenant=tenant)
    secret.last_error = "noticed by staff"
    secret.save()
    tenant_disable(tenant=tenant)

    assert raw_columns(tenant.pk) == before
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, LOST_KEY]
    assert get_tenant_secrets(tenant).refresh_token == REFRESH


def test_an_unreadable_value_says_so_without_leaking_bytes():
    value = UnreadableSecret(b"ciphertext")
    assert repr(value) == "<UnreadableSecret>"
    assert str(value) == "(unreadable)"
    assert not value
    assert value == UnreadableSecret(b"ciphertext")
    assert value != UnreadableSecret(b"other")
    assert len({value, UnreadableSecret(b"ciphertext")}) == 1


def test_the_field_deconstructs_to_itself_so_migrations_keep_the_key_ring():
    field = EncryptedTextField(blank=True, default="")
    _name, path, args, kwargs = field.deconstruct()
    assert path == "tenants.fields.EncryptedTextField"
    assert kwargs == {"blank": True, "default": ""}
    clone = field.clone()
    assert type(clone) is EncryptedTextField
    assert clone.deconstruct()[1:] == (path, args, kwargs)


def dump_secrets() -> str:
    from io import StringIO

    out = StringIO()
    call_command("dumpdata", "tenants.tenantsecret", stdout=out)
    return out.getvalue()


def test_an_export_holds_ciphertext_and_loads_back_to_the_same_tokens(tenant_factory, tmp_path):
    tenant = tenant_factory("acme", access_token=ACCESS, refresh_token=REFRESH)
    export = dump_secrets()
    assert ACCESS not in export
    assert REFRESH not in export
    assert '"access_token": "encrypted:' in export

    fixture = tmp_path / "secrets.json"
    fixture.write_text(export)
    TenantSecret.objects.filter(tenant=tenant).update(access_token=b"", refresh_token=b"")
    call_command("loaddata", str(fixture), verbosity=0)

    secrets = get_tenant_secrets(tenant)
    assert (secrets.access_token, secrets.refresh_token) == (ACCESS, REFRESH)


def test_an_export_loads_under_a_newer_key_ring(tenant_factory, settings, tmp_path):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    tenant = tenant_factory("acme", access_token=ACCESS)
    fixture = tmp_path / "secrets.json"
    fixture.write_text(dump_secrets())

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("loaddata", str(fixture), verbosity=0)
    assert get_tenant_secrets(tenant).access_token == ACCESS


def test_an_unreadable_row_is_exported_as_the_ciphertext_it_holds(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = [LOST_KEY]
    tenant = tenant_factory("lost-co", access_token=ACCESS)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    export = dump_secrets()
    stored = base64.b64encode(raw_columns(tenant.pk)[0]).decode()
    assert f'"access_token": "encrypted:{stored}"' in export
    assert ACCESS not in export


def test_text_that_only_looks_like_an_export_is_kept_as_text():
    field = EncryptedTextField()
    assert field.to_python("encrypted:not base64!") == "encrypted:not base64!"
    assert field.to_python("plain") == "plain"
