"""The chat and tool explorer pages: access for each persona, history, rename, delete."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from mcpbridge.chat.conversations import conversation_append, conversation_create
from mcpbridge.chat.models import Conversation
from mcpbridge.chat.transcript import ChatMessage, ToolCall
from tenants.models import Membership, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(settings):
    settings.LLM_MODEL = "fake-model-1"


def chat_of(personas, user=None, title="", messages=()):
    conversation = conversation_create(
        tenant=personas.tenant, user=user or personas.member, title=title
    )
    conversation_append(conversation=conversation, messages=list(messages))
    return conversation


def signed_in(client, user):
    client.force_login(user)
    return client


# --- the chat page -------------------------------------------------------------------


def test_a_member_sees_the_chat_with_their_conversations(client, personas, model):
    mine = chat_of(personas, title="Pipeline review")
    chat_of(personas, user=personas.owner, title="The owner's own")
    page = signed_in(client, personas.member).get("/tenants/acme/chat/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Pipeline review" in text
    assert "The owner's own" not in text
    assert f"/tenants/acme/chat/{mine.pk}/" in text
    assert 'data-socket="/ws/tenants/acme/"' in text
    assert "data-composer" in text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_an_outsider_gets_404_and_a_visitor_is_sent_to_sign_in(client, personas):
    assert signed_in(client, personas.outsider).get("/tenants/acme/chat/").status_code == 404
    client.logout()
    page = client.get("/tenants/acme/chat/")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/accounts/login/")


def test_someone_elses_conversation_is_404_even_in_the_same_tenant(client, personas, model):
    theirs = chat_of(personas, user=personas.owner, title="Private")
    page = signed_in(client, personas.member).get(f"/tenants/acme/chat/{theirs.pk}/")
    assert page.status_code == 404


def test_a_conversation_from_another_tenant_is_404(client, personas, tenant_factory):
    other = tenant_factory("initech")
    Membership.objects.create(user=personas.member, tenant=other, role=Membership.Role.MEMBER)
    elsewhere = conversation_create(tenant=other, user=personas.member, title="Elsewhere")
    page = signed_in(client, personas.member).get(f"/tenants/acme/chat/{elsewhere.pk}/")
    assert page.status_code == 404


def test_history_is_rendered_with_markdown_cards_and_notices_and_no_live_markup(
    client, personas, model
):
    call = ToolCall("call_1", "search_contacts", '{"query": "<b>x</b>"}')
    conversation = chat_of(
        personas,
        messages=[
            ChatMessage("user", "<script>alert('user')</script>"),
            ChatMessage("assistant", "Looking.", tool_calls=[call]),
            ChatMessage(
                "tool",
                '{"note": "<script>alert(1)</script>"}',
                tool_call_id="call_1",
                tool_name="search_contacts",
                duration_ms=1500,
            ),
            ChatMessage("assistant", "**Found** <img src=x onerror=alert(2)>", status="stopped"),
            ChatMessage("user", "And?"),
            ChatMessage(
                "assistant",
                "",
                status="error",
                error_code="model_timeout",
                error="The model did not answer within 60 seconds.",
            ),
        ],
    )
    text = signed_in(client, personas.member).get(f"/tenants/acme/chat/{conversation.pk}/")
    html = text.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;user&#x27;)&lt;/script&gt;" in html
    assert "<strong>Found</strong> &lt;img src=x onerror=alert(2)&gt;" in html
    assert '<span class="tool-time">1.5 s</span>' in html
    assert "&quot;note&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html
    assert '<p class="notice">Stopped.</p>' in html
    assert '<p class="notice notice-error">The model did not answer within 60 seconds.</p>' in html


def test_without_a_model_the_page_says_how_to_configure_one(client, personas, settings):
    settings.LLM_MODEL = ""
    html = signed_in(client, personas.member).get("/tenants/acme/chat/").content.decode()
    assert "No model is configured" in html
    assert "LLM_MODEL" in html
    assert "data-composer" not in html
    assert "/tenants/acme/tools/" in html


def test_a_viewer_reads_but_cannot_run_the_assistant(client, personas, model):
    html = signed_in(client, personas.viewer).get("/tenants/acme/chat/").content.decode()
    assert "can read conversations but not run the assistant" in html
    assert "data-composer" not in html


def test_a_tenant_that_needs_reconnecting_says_so_with_the_reconnect_action(client, personas):
    Tenant.objects.filter(pk=personas.tenant.pk).update(status=Tenant.Status.NEEDS_REAUTH)
    html = signed_in(client, personas.member).get("/tenants/acme/chat/").content.decode()
    assert "is not connected to HighLevel" in html
    assert 'action="/accounts/highlevel/login/?next=/tenants/acme/chat/"' in html


def test_the_tenant_root_leads_to_a_new_chat(client, personas):
    page = signed_in(client, personas.member).get("/tenants/acme/")
    assert (page.status_code, page.headers["Location"]) == (302, "/tenants/acme/chat/")
    assert signed_in(client, personas.outsider).get("/tenants/acme/").status_code == 404


def test_the_switcher_lists_the_users_other_tenants_only(client, personas, tenant_factory):
    other = tenant_factory("initech")
    Membership.objects.create(user=personas.member, tenant=other, role=Membership.Role.MEMBER)
    html = signed_in(client, personas.member).get("/tenants/acme/chat/").content.decode()
    assert 'href="/tenants/initech/"' in html
    assert 'href="/tenants/globex/"' not in html


# --- rename and delete ------------------------------------------------------------------


def test_a_member_renames_their_conversation(client, personas):
    conversation = chat_of(personas, title="Old")
    page = signed_in(client, personas.member).post(
        f"/tenants/acme/chat/{conversation.pk}/rename/", {"title": "  Q3   pipeline "}
    )
    assert page.status_code == 302
    conversation.refresh_from_db()
    assert conversation.title == "Q3 pipeline"


@pytest.mark.parametrize(
    ("title", "words"),
    [("   ", "cannot be empty"), ("x" * 201, "at most 200"), ("Q3\x00", "NUL characters")],
)
def test_a_bad_title_is_refused_with_400_and_the_old_one_kept(client, personas, title, words):
    conversation = chat_of(personas, title="Old")
    page = signed_in(client, personas.member).post(
        f"/tenants/acme/chat/{conversation.pk}/rename/", {"title": title}
    )
    assert page.status_code == 400
    assert words in page.content.decode()
    conversation.refresh_from_db()
    assert conversation.title == "Old"


def test_nobody_else_renames_or_deletes_a_conversation(client, personas):
    conversation = chat_of(personas, title="Mine")
    for user in (personas.owner, personas.outsider):
        signed_in(client, user)
        assert (
            client.post(f"/tenants/acme/chat/{conversation.pk}/rename/", {"title": "x"}).status_code
            == 404
        )
        assert client.post(f"/tenants/acme/chat/{conversation.pk}/delete/").status_code == 404
    conversation.refresh_from_db()
    assert conversation.title == "Mine"


def test_a_member_deletes_their_conversation_and_its_messages(client, personas):
    conversation = chat_of(personas, title="Doomed", messages=[ChatMessage("user", "hi")])
    page = signed_in(client, personas.member).post(f"/tenants/acme/chat/{conversation.pk}/delete/")
    assert (page.status_code, page.headers["Location"]) == (302, "/tenants/acme/chat/")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_rename_and_delete_only_accept_post(client, personas):
    conversation = chat_of(personas, title="Mine")
    signed_in(client, personas.member)
    assert client.get(f"/tenants/acme/chat/{conversation.pk}/delete/").status_code == 405
    assert client.get(f"/tenants/acme/chat/{conversation.pk}/rename/").status_code == 405


# --- the tool explorer (a real child against the sandbox) --------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_tool_explorer_lists_every_tool_with_a_form(async_client, dental):
    _tenant, user = dental
    await sync_to_async(async_client.force_login)(user)
    page = await async_client.get("/tenants/dental/tools/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<details class="tool"') == 52
    assert 'id="f-search_contacts-limit" name="limit" type="number"' in html
    assert 'min="1" max="100"' in html
    assert 'data-field="contactId" data-widget="text" data-kind="string" data-required' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


@pytest.mark.django_db(transaction=True)
async def test_the_tool_explorer_refuses_outsiders_and_explains_an_unusable_tenant(
    async_client, dental, user_factory
):
    tenant, user = dental
    outsider = await sync_to_async(user_factory)("olga")
    await sync_to_async(async_client.force_login)(outsider)
    assert (await async_client.get("/tenants/dental/tools/")).status_code == 404
    await Tenant.objects.filter(pk=tenant.pk).aupdate(status=Tenant.Status.NEEDS_REAUTH)
    await sync_to_async(async_client.force_login)(user)
    page = await async_client.get("/tenants/dental/tools/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "is not connected to HighLevel (needs re-authorisation)" in html
    assert "Reconnect HighLevel" in html


async def test_a_visitor_is_sent_to_sign_in_from_the_tool_explorer(async_client):
    page = await async_client.get("/tenants/acme/tools/")
    assert page.status_code == 302
    assert page.headers["Location"] == "/accounts/login/?next=/tenants/acme/tools/"
