from __future__ import annotations

import base64

import httpx
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
    assert request.files == {"file": ("file", b"hello"), "name": (None, b"a.txt")}
    with pytest.raises(ArgumentError, match="base64"):
        operation_request(op, {"body": {"file": "not base64!"}}, location_id=LOC)


def test_an_upload_without_a_file_still_goes_as_multipart(catalogue: Catalogue) -> None:
    op = catalogue.get("medias.upload_media_content")
    request = operation_request(
        op, {"body": {"hosted": True, "fileUrl": "https://x.test/a.png"}}, location_id=LOC
    )
    sent = httpx.Client(base_url="https://ghl.test").build_request(
        "POST", request.path, files=request.files
    )
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="fileUrl"\r\n\r\nhttps://x.test/a.png' in sent.read()
    with pytest.raises(ArgumentError, match="body"):
        operation_request(op, {"body": {}}, location_id=LOC)


def test_custom_field_uploads_take_files_keyed_by_field(catalogue: Catalogue) -> None:
    op = catalogue.get("forms.upload_to_custom_fields")
    request = operation_request(
        op,
        {"contactId": "c1", "body": {"cf1_f1": base64.b64encode(b"pdf").decode()}},
        location_id=LOC,
    )
    assert request.files == {"cf1_f1": ("cf1_f1", b"pdf")}
    assert ("locationId", LOC) in request.params


@pytest.mark.parametrize(
    ("op_id", "arguments", "path"),
    [
        ("users.update_user", {"userId": "u1", "body": {}}, "/users/u1"),
        ("users.delete_user", {"userId": "u1"}, "/users/u1"),
        (
            "calendars.delete_appointment_note",
            {"appointmentId": "a1", "noteId": "n1"},
            "/calendars/appointments/a1/notes/n1",
        ),
        ("conversations.get_message", {"id": "m1"}, "/conversations/messages/m1"),
        ("locations.get_timezones", {}, f"/locations/{LOC}/timezones"),
    ],
)
def test_path_parameters_the_spec_forgets_come_from_the_template(
    catalogue: Catalogue, op_id: str, arguments: dict, path: str
) -> None:
    op = catalogue.get(op_id)
    assert operation_request(op, arguments, location_id=LOC).path == path
    assert "locationId" not in op.input_schema["properties"]


def test_a_name_in_both_path_and_query_is_one_argument_sent_twice(catalogue: Catalogue) -> None:
    op = catalogue.get("ad_manager.li_get_campaign_group_reporting")
    arguments = {"campaignGroupId": "g1", "startDate": "2030-01-01", "endDate": "2030-01-31"}
    request = operation_request(op, arguments, location_id=LOC)
    assert request.path == "/ad-publishing/linkedin/reporting/campaign-group/g1"
    assert ("campaignGroupId", "g1") in request.params
    assert list(op.input_schema["properties"]).count("campaignGroupId") == 1


def test_impossible_enums_become_lists_of_the_values(catalogue: Catalogue) -> None:
    body = catalogue.get("store.create_shipping_zone").input_schema["properties"]["body"]
    code = body["properties"]["countries"]["items"]["properties"]["code"]
    assert code["type"] == "string"
    assert "US" in code["enum"]
    operation_request(
        catalogue.get("store.create_shipping_zone"),
        {"body": {"name": "Home", "countries": [{"code": "US"}]}},
        location_id=LOC,
    )


def test_a_required_array_body_is_required(catalogue: Catalogue) -> None:
    op = catalogue.get("calendars.create_event_notification")
    assert op.input_schema["required"] == ["calendarId", "body"]
    with pytest.raises(ArgumentError, match="'body' is a required property"):
        operation_request(op, {"calendarId": "cal1"}, location_id=LOC)


def test_defaults_the_schema_refuses_are_gone(catalogue: Catalogue) -> None:
    limit = catalogue.get("emails.fetch_template").input_schema["properties"]["limit"]
    assert limit == {"type": "string"} | {k: v for k, v in limit.items() if k == "description"}


def test_sending_a_message_fills_what_the_spec_requires(catalogue: Catalogue) -> None:
    op = catalogue.get("conversations.send_a_new_message")
    body = {"type": "Email", "contactId": "c1", "subject": "Hi", "html": "<p>x</p>"}
    request = operation_request(op, {"body": body}, location_id=LOC)
    assert request.json == {**body, "status": "pending", "subType": "Email"}
    assert op.input_schema["properties"]["body"]["required"] == ["type", "contactId"]


def test_dates_become_epoch_milliseconds() -> None:
    assert epoch_ms("2030-03-04", timezone="America/New_York") == 1_898_830_800_000
    assert epoch_ms("2030-03-04T00:00:00Z") == 1_898_812_800_000
    assert epoch_ms("1898812800000") == 1_898_812_800_000
    with pytest.raises(ArgumentError):
        epoch_ms("next tuesday")
    with pytest.raises(ArgumentError):
        epoch_ms("2030-03-04", timezone="Mars/Olympus")
