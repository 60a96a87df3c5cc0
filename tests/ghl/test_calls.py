from __future__ import annotations

import base64

import pytest

from mcpbridge.ghl.calls import ArgumentError, operation_request
from mcpbridge.ghl.catalogue import Catalogue
from mcpbridge.ghl.core import epoch_ms

LOC = "loc_own"


def test_it_fills_the_location_in_path_query_and_body(catalogue: Catalogue) -> None:
    path = operation_request(
        catalogue.get("locations.get_custom_fields"), {"model": "contact"}, location_id=LOC
    )
    query = operation_request(
        catalogue.get("invoices.list_invoices"), {"limit": "5", "offset": "0"}, location_id=LOC
    )
    body = operation_request(
        catalogue.get("contacts.create_contact"),
        {"body": {"email": "a@example.com"}},
        location_id=LOC,
    )
    assert path.path == f"/locations/{LOC}/customFields"
    assert ("model", "contact") in path.params
    assert ("altId", LOC) in query.params
    assert ("altType", "location") in query.params
    assert body.json == {"email": "a@example.com", "locationId": LOC}


@pytest.mark.parametrize(
    ("op_id", "arguments"),
    [
        ("locations.get_location", {"locationId": "elsewhere"}),
        ("invoices.list_invoices", {"limit": "1", "offset": "0", "altId": "elsewhere"}),
        ("invoices.list_invoices", {"limit": "1", "offset": "0", "altType": "company"}),
        ("contacts.create_contact", {"body": {"locationId": "elsewhere"}}),
        (
            "contacts.search_contacts_advanced",
            {"body": {"filters": [{"field": "x", "locationId": "elsewhere"}]}},
        ),
        ("users.create_user", {"body": {"locationIds": [LOC, "elsewhere"]}}),
    ],
)
def test_it_refuses_any_other_location(catalogue: Catalogue, op_id: str, arguments: dict) -> None:
    with pytest.raises(ArgumentError, match=r"another location|own location"):
        operation_request(catalogue.get(op_id), arguments, location_id=LOC)


def test_path_values_are_escaped(catalogue: Catalogue) -> None:
    request = operation_request(
        catalogue.get("contacts.get_contact"), {"contactId": "../users/x?y"}, location_id=LOC
    )
    assert request.path == "/contacts/..%2Fusers%2Fx%3Fy"


def test_validation_lists_what_is_wrong(catalogue: Catalogue) -> None:
    with pytest.raises(ArgumentError) as caught:
        operation_request(
            catalogue.get("contacts.create_task"),
            {"body": {"title": 1}, "extra": True},
            location_id=LOC,
        )
    message = str(caught.value)
    assert "'contactId' is a required property" in message
    assert "'extra' was unexpected" in message
    assert "body.title: 1 is not of type 'string'" in message


def test_multipart_operations_send_files_from_base64(catalogue: Catalogue) -> None:
    op = catalogue.get("medias.upload_media_content")
    request = operation_request(
        op,
        {"body": {"file": base64.b64encode(b"hello").decode(), "name": "a.txt"}},
        location_id=LOC,
    )
    assert request.files == {"file": ("file", b"hello")}
    assert request.data == {"name": "a.txt"}
    with pytest.raises(ArgumentError, match="base64"):
        operation_request(op, {"body": {"file": "not base64!"}}, location_id=LOC)


def test_dates_become_epoch_milliseconds() -> None:
    assert epoch_ms("2030-03-04", timezone="America/New_York") == 1_898_830_800_000
    assert epoch_ms("2030-03-04T00:00:00Z") == 1_898_812_800_000
    assert epoch_ms("1898812800000") == 1_898_812_800_000
    with pytest.raises(ArgumentError):
        epoch_ms("next tuesday")
    with pytest.raises(ArgumentError):
        epoch_ms("2030-03-04", timezone="Mars/Olympus")
