"""The chat's pages in a real headless Chromium against a live hub (daphne, sandbox)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.chat.live import LiveHub, live_hub_start, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hub(_ghl_sandbox_server, tmp_path_factory) -> Iterator[LiveHub]:
    _ghl_sandbox_server.reset()
    started = live_hub_start(_ghl_sandbox_server, tmp_path_factory.mktemp("live-hub"))
    yield started
    started.stop()


def test_a_user_with_two_sub_accounts_picks_one_and_can_switch(page, hub):
    sign_in(page, hub)
    cards = page.locator(".tenant-card")
    assert cards.count() == 2
    assert cards.first.locator("h2").inner_text() == "Bright Smile Dental"
    page.get_by_role("link", name="Open assistant").first.click()
    page.wait_for_url(re.compile(r"/tenants/dental/chat/$"))
    page.locator(".switcher summary").click()
    page.get_by_role("link", name="Peak Roofing").click()
    page.wait_for_url(re.compile(r"/tenants/roofing/chat/$"))
    assert page.locator(".switcher-name").inner_text() == "Peak Roofing"


def test_history_renders_markdown_and_a_tool_card_with_its_result(page, hub):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/chat/{hub.ids['history']}/")
    answer = page.locator(".turn-assistant .md").last
    assert answer.locator("strong").first.inner_text() == "Alice Nguyen"
    assert answer.locator("li").count() == 2
    assert answer.locator("table td").first.inner_text() == "Tags"
    card = page.locator(".tool-card")
    assert card.get_attribute("data-state") == "done"
    assert card.locator(".tool-name").inner_text() == "search_contacts"
    assert card.locator(".tool-time").inner_text() == "240 ms"
    assert not card.locator(".tool-result").is_visible()
    card.locator("summary").click()
    assert card.locator(".tool-result").is_visible()
    assert "ct_dental_alice" in card.locator(".tool-result").inner_text()
    assert '"query": "Alice"' in card.locator(".tool-args").inner_text()


def test_a_script_in_a_tool_result_or_an_answer_stays_inert(page, hub):
    sign_in(page, hub)
    response = page.goto(f"{hub.url}/tenants/dental/chat/{hub.ids['history']}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".tool-card summary").click()
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".transcript script, .transcript img").count() == 0
    assert "<script>window.__pwned = 1</script>" in page.locator(".tool-result").inner_text()
    assert "<script>window.__pwned = 3</script>" in page.locator(".md").last.inner_text()
    assert page.locator('.md a[href^="javascript"]').count() == 0


def test_conversations_can_be_opened_renamed_and_deleted(page, hub):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/chat/")
    listed = page.locator(".conversation-list .title")
    assert listed.all_inner_texts() == [
        "Old question",
        "What's on the calendar this week?",
        "Pipeline review",
        "Who is Alice?",
    ]
    page.get_by_role("link", name=re.compile("Pipeline review")).click()
    page.wait_for_url(re.compile(rf"/chat/{hub.ids['pipeline']}/$"))
    assert page.locator(".turn-user .bubble").inner_text() == "Open deals?"

    page.get_by_label("Conversation actions").click()
    page.get_by_label("Title").fill("Q3 pipeline")
    page.get_by_role("button", name="Rename").click()
    assert page.locator("#chat-title").inner_text() == "Q3 pipeline"
    assert "Conversation renamed." in page.locator(".flash").inner_text()

    page.goto(f"{hub.url}/tenants/dental/chat/{hub.ids['doomed']}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Conversation actions").click()
    page.get_by_role("button", name="Delete conversation").click()
    page.wait_for_url(re.compile(r"/tenants/dental/chat/$"))
    assert "Old question" not in page.locator(".conversation-list").inner_text()
    assert page.goto(f"{hub.url}/tenants/dental/chat/{hub.ids['doomed']}/").status == 404


def test_without_a_model_the_chat_says_how_to_configure_one_and_points_to_the_tools(page, hub):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/chat/")
    setup = page.locator(".setup")
    assert "No model is configured" in setup.inner_text()
    assert "LLM_MODEL" in setup.inner_text()
    assert page.locator("[data-composer]").count() == 0
    setup.get_by_role("link", name="Open the tool explorer").click()
    page.wait_for_url(re.compile(r"/tenants/dental/tools/$"))


def test_the_tool_explorer_builds_a_form_from_each_tools_schema(page, hub):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/tools/")
    assert page.locator("details.tool").count() == 52
    search = page.locator("#tool-search_contacts")
    search.locator("summary").click()
    limit = search.locator("#f-search_contacts-limit")
    assert limit.get_attribute("type") == "number"
    assert (limit.get_attribute("min"), limit.get_attribute("max")) == ("1", "100")
    assert search.locator("#f-search_contacts-query").get_attribute("type") == "text"

    contact = page.locator("#tool-get_contact")
    contact.locator("summary").click()
    assert contact.locator("[data-field=contactId][data-required]").count() == 1
    contact.get_by_role("button", name="Run get_contact").click()
    assert contact.locator("[data-error]").first.inner_text() == "Required."

    page.get_by_label("Filter tools").fill("calendar")
    visible = page.locator("details.tool:visible")
    assert 0 < visible.count() < 52
    assert all("calendar" in text.lower() for text in visible.all_inner_texts())


def test_everything_is_reachable_from_the_keyboard(page, hub):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/chat/{hub.ids['history']}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.tool-card') !== null"):
            break
    page.keyboard.press("Enter")
    assert page.locator(".tool-card").get_attribute("open") is not None


@pytest.mark.parametrize("width", [1280, 390])
def test_the_pages_fit_the_screen_from_desktop_to_phone(page, hub, width):
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, hub)
    for path in ("/", f"/tenants/dental/chat/{hub.ids['week']}/", "/tenants/dental/tools/"):
        page.goto(hub.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path


def test_on_a_phone_the_conversations_open_from_the_header(page, hub):
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/chat/{hub.ids['week']}/")
    new_chat = page.locator("#sidebar .new-chat")
    expect(new_chat).not_to_be_in_viewport()
    toggle = page.get_by_role("button", name="Conversations")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    expect(new_chat).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(new_chat).not_to_be_in_viewport()
    assert toggle.get_attribute("aria-expanded") == "false"


def test_the_tool_explorer_runs_a_tool_over_the_socket_without_a_model(page, hub):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/tools/")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "online")
    search = page.locator("#tool-search_contacts")
    search.locator("summary").click()
    search.locator("#f-search_contacts-query").fill("alice")
    search.locator("#f-search_contacts-limit").fill("5")
    search.get_by_role("button", name="Run search_contacts").click()
    output = search.locator("[data-output]")
    expect(output).to_have_attribute("data-state", "done")
    expect(output.locator("[data-result]")).to_contain_text('"id": "ct_dental_alice"')
    expect(search.locator("[data-status]")).to_have_text("Done.")

    contact = page.locator("#tool-get_contact")
    contact.locator("summary").click()
    contact.locator("#f-get_contact-contactId").fill("ct_missing")
    contact.get_by_role("button", name="Run get_contact").click()
    expect(contact.locator("[data-output]")).to_have_attribute("data-state", "error")
    expect(contact.locator("[data-status]")).to_have_text("The tool reported an error.")


def test_the_explorer_asks_before_a_destructive_tool_naming_the_record(page, hub, live_sandbox):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/tools/")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "online")
    tool = page.locator("#tool-delete_contact")
    expect(tool.locator(".risk")).to_have_text("destructive")
    tool.locator("summary").click()
    tool.locator("#f-delete_contact-contactId").fill("ct_dental_dev")
    tool.get_by_role("button", name="Run delete_contact").click()
    dialog = page.locator("[data-confirm-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete contact ct_dental_dev?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(tool.locator("[data-status]")).to_have_text("Not run.")
    assert live_sandbox.requests("/contacts/ct_dental_dev", "DELETE") == []

    tool.get_by_role("button", name="Run delete_contact").click()
    dialog.get_by_role("button", name="Yes, run it").click()
    expect(tool.locator("[data-status]")).to_have_text("Done.", timeout=20_000)
    assert len(live_sandbox.requests("/contacts/ct_dental_dev", "DELETE")) == 1


def test_the_explorer_runs_a_read_without_asking(page, hub):
    sign_in(page, hub)
    page.goto(f"{hub.url}/tenants/dental/tools/")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "online")
    tool = page.locator("#tool-get_location")
    tool.locator("summary").click()
    tool.get_by_role("button", name="Run get_location").click()
    expect(tool.locator("[data-status]")).to_have_text("Done.", timeout=20_000)
    expect(page.locator("[data-confirm-dialog]")).not_to_be_visible()


def test_the_admin_works_under_its_content_security_policy(page, hub):
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, hub, "sam")
    for path in ("/admin/", "/admin/tenants/tenant/", "/admin/mcp/children/", "/admin/auth/user/"):
        response = page.goto(f"{hub.url}{path}")
        assert response is not None
        assert response.status == 200, path
        assert "style-src 'self' 'unsafe-inline'" in response.headers["content-security-policy"]
    page.goto(f"{hub.url}/admin/auth/user/")
    page.locator("#result_list tbody a").first.click()
    # The change form's own scripts ran: the password widget and the date shortcuts.
    expect(page.locator("#user_form")).to_be_visible()
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()
    assert blocked == []
