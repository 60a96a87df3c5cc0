"""The audit log pages, the approval policy form, token scopes from the shell, and retention."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tenants.access import api_token_authenticate
from tenants.audit import Actor, audit_arguments_text, audit_record
from tenants.models import AuditEntry, Tenant

pytestmark = pytest.mark.django_db

PAGE = "/tenants/acme/audit/"
CSV = "/tenants/acme/audit.csv"


def client_of(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def entry(tenant, user, tool, **extra):
    return audit_record(
        tenant_id=tenant.pk,
        actor=Actor.of(user=user),
        way_in=extra.pop("way_in", "chat"),
        outcome=extra.pop("outcome", "ok"),
        tool=tool,
        risk=extra.pop("risk", "read"),
        arguments=audit_arguments_text(extra.pop("arguments", {})),
        **extra,
    )


@pytest.fixture
def log(personas):
    entry(personas.tenant, personas.owner, "get_contact")
    entry(
        personas.tenant,
        personas.member,
        "delete_contact",
        risk="destructive",
        arguments={"contactId": "ct_1"},
        approval_needed=True,
        approval_decision="approved",
        approved_by="bob",
        approved_at=timezone.now(),
    )
    entry(personas.tenant, personas.member, "send_sms", risk="outbound", outcome="declined")
    return personas


def rows_of(response) -> list[str]:
    return re.findall(r"<tr>\s*<td><time", response.content.decode())


def test_an_owner_sees_every_entry_of_the_tenant(log):
    response = client_of(log.owner).get(PAGE)
    assert response.status_code == 200
    assert len(rows_of(response)) == 3
    assert "approved by bob" in response.content.decode()


def test_a_member_sees_only_their_own_entries(log):
    response = client_of(log.member).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert len(rows_of(response)) == 2
    assert "get_contact" not in page


@pytest.mark.parametrize("persona", ["outsider", "staff"])
def test_outsiders_get_404_on_the_page_and_the_csv(log, persona):
    client = client_of(getattr(log, persona))
    assert client.get(PAGE).status_code == 404
    assert client.get(CSV).status_code == 404


def test_filters_narrow_the_entries(log):
    client = client_of(log.owner)
    assert len(rows_of(client.get(PAGE, {"risk": "destructive"}))) == 1
    assert len(rows_of(client.get(PAGE, {"outcome": "declined"}))) == 1
    assert len(rows_of(client.get(PAGE, {"tool": "contact"}))) == 2
    assert len(rows_of(client.get(PAGE, {"actor": "bob"}))) == 2
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert len(rows_of(client.get(PAGE, {"since": tomorrow}))) == 0


def test_a_bad_filter_is_ignored_not_an_error(log):
    response = client_of(log.owner).get(PAGE, {"since": "not-a-date", "risk": "bogus"})
    assert response.status_code == 200


def test_the_csv_has_the_entries_the_page_shows(log):
    client = client_of(log.owner)
    body = b"".join(client.get(CSV, {"risk": "destructive"}).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    [only] = rows
    stored = AuditEntry.objects.get(tool="delete_contact")
    assert only["tool"] == "delete_contact"
    assert only["actor"] == stored.actor
    assert only["approval_decision"] == "approved"
    assert only["approved_by"] == "bob"
    assert only["arguments"] == stored.arguments
    assert only["time"] == stored.at.isoformat()
    page = client.get(PAGE, {"risk": "destructive"}).content.decode()
    assert stored.at.strftime("%Y-%m-%d %H:%M:%S") in page


def test_a_csv_cell_that_looks_like_a_formula_is_kept_as_text(personas):
    entry(personas.tenant, personas.owner, "=HYPERLINK(1)")
    body = b"".join(client_of(personas.owner).get(CSV).streaming_content).decode()
    assert "'=HYPERLINK(1)" in body


def test_an_owner_changes_the_approval_policy_and_it_is_audited(personas):
    response = client_of(personas.owner).post(
        "/tenants/acme/approvals/", {"approval_policy": "changes"}
    )
    assert response.status_code == 302
    tenant = Tenant.objects.get(pk=personas.tenant.pk)
    assert tenant.approval_policy == "changes"
    assert tenant.approval_risks() == {"write", "destructive", "outbound"}
    change = AuditEntry.objects.get(way_in="settings")
    assert (change.outcome, change.user_id) == ("policy_changed", personas.owner.pk)
    assert '"from": "risky"' in change.arguments


def test_a_member_cannot_change_the_approval_policy(personas):
    response = client_of(personas.member).post(
        "/tenants/acme/approvals/", {"approval_policy": "none"}
    )
    assert response.status_code == 403
    assert Tenant.objects.get(pk=personas.tenant.pk).approval_policy == "risky"


def test_an_unknown_policy_is_a_400_and_changes_nothing(personas):
    response = client_of(personas.owner).post(
        "/tenants/acme/approvals/", {"approval_policy": "whatever"}
    )
    assert response.status_code == 400
    assert Tenant.objects.get(pk=personas.tenant.pk).approval_policy == "risky"
    assert not AuditEntry.objects.exists()


def test_the_default_policy_asks_before_destructive_and_outbound_calls(personas):
    assert personas.tenant.approval_risks() == {"destructive", "outbound"}


def test_create_api_token_takes_scopes(personas):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "acme", "reports", "--scope", "read", stdout=out, stderr=err)
    token = api_token_authenticate(out.getvalue().strip())
    assert token.scope_set == {"read"}
    with pytest.raises(CommandError):
        call_command("create_api_token", "acme", "x", "--scope", "read,everything")


def test_purge_audit_deletes_only_entries_past_retention(personas, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = entry(personas.tenant, personas.owner, "get_contact")
    AuditEntry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    recent = entry(personas.tenant, personas.owner, "get_location")
    out = io.StringIO()
    call_command("purge_audit", stdout=out)
    assert "Deleted 1 audit entry" in out.getvalue()
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]


def test_staff_see_every_tenants_log_in_the_admin_read_only(log):
    client = client_of(log.staff)
    response = client.get("/admin/tenants/auditentry/")
    assert response.status_code == 200
    assert b"delete_contact" in response.content
    assert client.get("/admin/tenants/auditentry/add/").status_code == 403
