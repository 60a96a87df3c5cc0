from __future__ import annotations

from tenants.highlevel.checks import webhook_keys_check


def test_the_published_ghl_keys_pass_the_check() -> None:
    assert webhook_keys_check() == []


def test_an_unreadable_or_wrong_kind_of_key_is_reported(settings) -> None:
    rsa = settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY
    settings.GHL_WEBHOOK_PUBLIC_KEY = "not a key"
    settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY = settings.GHL_WEBHOOK_PUBLIC_KEY
    assert [error.id for error in webhook_keys_check()] == ["highlevel.E001", "highlevel.E002"]
    settings.GHL_WEBHOOK_PUBLIC_KEY = rsa
    settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY = ""
    assert [error.id for error in webhook_keys_check()] == ["highlevel.E001"]


def test_keys_may_be_given_as_one_line_of_base64(settings) -> None:
    pem = settings.GHL_WEBHOOK_PUBLIC_KEY
    settings.GHL_WEBHOOK_PUBLIC_KEY = "".join(
        line for line in pem.splitlines() if not line.startswith("-----")
    )
    assert webhook_keys_check() == []
