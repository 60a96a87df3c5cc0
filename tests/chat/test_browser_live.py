"""The whole product in a real headless Chromium: sign in through the GHL sandbox, chat with
the assistant (the fake model behind it), watch the answer stream and its tool run, reload."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from mcpbridge.sandbox import BEN, DENTAL
from mcpbridge.sandbox.seed import contact
from tests.chat.fake_model import MODEL, FakeModel, Reply, text, tool_calls
from tests.chat.live import LiveHub, live_hub_start, live_hub_worker

pytestmark = pytest.mark.browser

HOSTILE_NAME = "<script>window.__pwned = 1</script>"
HOSTILE_COMPANY = '<img src=x onerror="window.__pwned = 2">'
# A sign-in stores new tokens, so the first turn after it starts a new MCP child for the
# tenant: a few seconds on a busy machine, beyond Playwright's default 5.
FIRST_TURN_MS = 20_000


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeModel]:
    with FakeModel() as model:
        yield model


def shared_cache() -> dict[str, str]:
    """Redis when the run has one, as production: the workers of a hub then share it."""
    if not os.environ.get("REDIS_URL"):
        return {}
    return {
        "REDIS_URL": os.environ["REDIS_URL"],
        "CACHE_KEY_PREFIX": f"ghlhub-live-{secrets.token_hex(4)}",
    }


@pytest.fixture(scope="module")
def hub(_ghl_sandbox_server, tmp_path_factory, fake) -> Iterator[LiveHub]:
    sandbox = _ghl_sandbox_server
    sandbox.reset()
    hostile = contact(
        "ct_dental_hostile", DENTAL, HOSTILE_NAME, "Pwn", "pwn@example.com", "+15550100999", []
    )
    hostile["companyName"] = HOSTILE_COMPANY
    with sandbox.state.lock:
        sandbox.state.data["contacts"][hostile["id"]] = hostile
    started = live_hub_start(
        sandbox,
        tmp_path_factory.mktemp("live-hub-model"),
        LLM_BASE_URL=fake.url,
        LLM_MODEL=MODEL,
        LLM_API_KEY="sk-browser-tests-0123456789",
        LLM_MAX_RETRIES="0",
        GHL_MARKETPLACE_URL=sandbox.url,
        GHL_CLIENT_ID=sandbox.state.client_id,
        GHL_CLIENT_SECRET=sandbox.state.client_secret,
        **shared_cache(),
    )
    yield started
    started.stop()


def sign_in_with_highlevel(page, hub: LiveHub) -> None:
    page.goto(hub.url + "/")
    page.get_by_role("button", name="Sign in with HighLevel").click()
    page.get_by_label(re.compile("Bright Smile Dental")).check()
    page.get_by_label("Sign in as").select_option(BEN)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{hub.url}/")
    expect(page.locator(".flash")).to_contain_text("Connected Bright Smile Dental.")


def open_chat(page, hub: LiveHub) -> None:
    card = page.locator(".tenant-card", has_text="Bright Smile Dental")
    card.get_by_role("link", name="Open assistant").click()
    page.wait_for_url(re.compile(r"/tenants/dental/chat/$"))
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "online")


def ask(page, question: str) -> None:
    page.get_by_label("Message").fill(question)
    page.keyboard.press("Enter")


def test_sign_in_chat_watch_it_stream_and_run_a_tool_then_reload(page, hub, fake):
    answer = "**Alice Nguyen** is a VIP patient; her email is alice@example.com."
    fake.push(
        tool_calls(("search_contacts", {"query": "Alice"}), say="Let me look her up."),
        text(*[answer[i : i + 6] for i in range(0, len(answer), 6)], delay=0.08),
    )
    sign_in_with_highlevel(page, hub)
    open_chat(page, hub)
    ask(page, "Who is Alice?")

    expect(page.locator(".turn-user .bubble")).to_have_text("Who is Alice?")
    card = page.locator(".tool-card")
    expect(card).to_have_attribute("data-state", "done", timeout=FIRST_TURN_MS)
    expect(card.locator(".tool-name")).to_have_text("search_contacts")
    expect(card.locator(".tool-time")).to_have_text(re.compile(r"\d+ ms|\d\.\d s"))
    streaming = page.locator(".md.streaming")
    expect(streaming).to_contain_text("**Alice")  # shown as text while it streams
    expect(streaming).to_have_count(0, timeout=15_000)
    final = page.locator(".turn-assistant .md").last
    expect(final.locator("strong")).to_have_text("Alice Nguyen")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    page.wait_for_url(re.compile(r"/tenants/dental/chat/\d+/$"))
    expect(page.locator(".conversation-list li.active")).to_contain_text("Who is Alice?")

    card.locator("summary").click()
    assert "ct_dental_alice" in card.locator(".tool-result").inner_text()

    page.reload()
    expect(page.locator(".turn-user .bubble")).to_have_text("Who is Alice?")
    expect(page.locator(".tool-card")).to_have_attribute("data-state", "done")
    expect(page.locator(".turn-assistant .md").last.locator("strong")).to_have_text("Alice Nguyen")
    expect(page.locator(".turn-assistant .md").first).to_have_text("Let me look her up.")


def test_a_script_in_a_tool_result_stays_inert_as_it_arrives(page, hub, fake):
    fake.push(
        tool_calls(("search_contacts", {"query": "Pwn"})),
        text(f"Found {HOSTILE_NAME} at {HOSTILE_COMPANY}."),
    )
    sign_in_with_highlevel(page, hub)
    open_chat(page, hub)
    ask(page, "Find Pwn")
    card = page.locator(".tool-card")
    expect(card).to_have_attribute("data-state", "done", timeout=FIRST_TURN_MS)
    expect(page.locator(".turn-assistant .md").last).to_contain_text("Found <script>")
    card.locator("summary").click()
    assert HOSTILE_NAME in card.locator(".tool-result").inner_text()
    assert page.locator(".transcript script, .transcript img").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.reload()
    page.locator(".tool-card summary").click()
    assert page.locator(".transcript script, .transcript img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_delete_shows_an_approval_card_and_reaches_ghl_only_after_approve(
    page, hub, fake, live_sandbox
):
    sandbox = live_sandbox
    fake.push(
        tool_calls(("delete_contact", {"contactId": "ct_dental_carla"})),
        text("Carla is deleted."),
    )
    sign_in_with_highlevel(page, hub)
    open_chat(page, hub)
    ask(page, "Wipe Carla")
    card = page.locator(".approval")
    expect(card).to_be_visible(timeout=FIRST_TURN_MS)
    expect(card).to_have_attribute("data-risk", "destructive")
    expect(card.locator(".approval-summary")).to_contain_text("ct_dental_carla")
    expect(page.locator(".tool-card")).to_have_attribute("data-state", "waiting")
    assert sandbox.requests("/contacts/ct_dental_carla", "DELETE") == []
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".approval-outcome")).to_contain_text("Approved by")
    expect(page.locator(".tool-card")).to_have_attribute("data-state", "done")
    expect(page.locator(".turn-assistant .md").last).to_have_text("Carla is deleted.")
    assert len(sandbox.requests("/contacts/ct_dental_carla", "DELETE")) == 1
    page.reload()
    expect(page.locator(".approval .approval-outcome")).to_contain_text("Approved by")


def test_stop_ends_the_answer_and_the_history_says_so(page, hub, fake):
    fake.push(Reply(deltas=[{"content": "Let me think about"}], hang=True))
    sign_in_with_highlevel(page, hub)
    open_chat(page, hub)
    ask(page, "Think hard")
    expect(page.locator(".md.streaming")).to_contain_text(
        "Let me think about", timeout=FIRST_TURN_MS
    )
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".turn-assistant .notice")).to_have_text("Stopped.")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    page.wait_for_url(re.compile(r"/chat/\d+/$"))
    page.reload()
    expect(page.locator(".turn-assistant .md")).to_have_text("Let me think about")
    expect(page.locator(".turn-assistant .notice")).to_have_text("Stopped.")


def test_a_model_failure_is_shown_plainly(page, hub, fake):
    fake.push(Reply(status=503, error={"message": "upstream overloaded", "type": "server_error"}))
    sign_in_with_highlevel(page, hub)
    open_chat(page, hub)
    ask(page, "Hello?")
    expect(page.locator(".turn-assistant .notice-error")).to_contain_text(
        "The model service failed (HTTP 503)", timeout=FIRST_TURN_MS
    )
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def second_window_waits_for_the_first(page, hub: LiveHub, fake: FakeModel, url: str) -> None:
    """Window one asks; window two (on ``url``, a worker of the hub) asks in the same
    conversation meanwhile, is told to wait and keeps its message; then sends it."""
    held = threading.Event()
    fake.push(Reply(deltas=[{"content": "Checking the calendar"}], until=held), text("Booked."))
    sign_in_with_highlevel(page, hub)
    open_chat(page, hub)
    ask(page, "What is on today?")
    expect(page.locator(".md.streaming")).to_contain_text(
        "Checking the calendar", timeout=FIRST_TURN_MS
    )
    page.wait_for_url(re.compile(r"/chat/\d+/$"))
    other = page.context.new_page()
    errors: list[str] = []
    other.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        other.goto(url + urlsplit(page.url).path)
        expect(other.locator("[data-connection]")).to_have_attribute("data-state", "online")
        ask(other, "Book the 3 pm slot")
        expect(other.locator(".turn-assistant .notice-error")).to_have_text(
            "A reply is already being written for this conversation in another window. "
            "Send your message again once it is finished."
        )
        expect(other.get_by_label("Message")).to_have_value("Book the 3 pm slot")
        expect(other.locator(".turn-user .bubble")).to_have_text(["What is on today?"])
        expect(other.get_by_role("button", name="Send")).to_be_visible()

        held.set()
        expect(page.locator(".md.streaming")).to_have_count(0)
        expect(page.get_by_role("button", name="Send")).to_be_visible()
        ask(other, "Book the 3 pm slot")
        # On another worker, this turn starts that worker's own child for the tenant.
        expect(other.locator(".turn-assistant .md").last).to_have_text(
            "Booked.", timeout=FIRST_TURN_MS
        )
        expect(other.locator(".turn-user .bubble").last).to_have_text("Book the 3 pm slot")
    finally:
        held.set()
        other.close()
    assert errors == [], f"script errors on the second window: {errors}"


def test_a_second_window_waits_for_the_reply_being_written_in_the_first(page, hub, fake):
    second_window_waits_for_the_first(page, hub, fake, hub.url)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (REDIS_URL)")
def test_windows_on_two_workers_take_turns_too(page, hub, fake, tmp_path):
    worker = live_hub_worker(hub, tmp_path)
    try:
        second_window_waits_for_the_first(page, hub, fake, worker.url)
    finally:
        worker.stop()
