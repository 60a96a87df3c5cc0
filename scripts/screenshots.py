"""Screenshots of the chat and the tool explorer for the README (docs/screenshots/).

    python scripts/screenshots.py [--out docs/screenshots]

Runs the hub as the browser tests do (daphne on a seeded SQLite file, the GHL sandbox, a
loopback fake model answering one question with a tool call), signs in, asks the assistant
something and waits for its answer, then photographs the chat, a tool explorer form with a
result, and the chat on a phone-sized screen. Needs Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("SECRET_KEY", "screenshots-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "screenshots-field-key-not-for-production-012345")

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from mcpbridge.sandbox import Sandbox  # noqa: E402
from tests.chat.fake_model import MODEL, FakeModel, text, tool_calls  # noqa: E402
from tests.chat.live import CHROMIUM, CHROMIUM_ARGS, LiveHub, live_hub_start, sign_in  # noqa: E402

QUESTION = "Is Alice one of our VIP patients?"
ANSWER = (
    "Yes, **Alice Nguyen** is tagged **VIP**:\n\n"
    "| Name | Email | Phone | Tags |\n| --- | --- | --- | --- |\n"
    "| Alice Nguyen | alice@example.com | +1 555 0101 001 | patient, vip |\n\n"
    "Her record was last updated on **6 January 2025**. Want me to look at her conversations?"
)


def script_the_model(fake: FakeModel) -> None:
    fake.push(
        tool_calls(("search_contacts", {"query": "alice"}), say="Let me check the contacts."),
        text(*[ANSWER[i : i + 12] for i in range(0, len(ANSWER), 12)], delay=0.02),
    )


def chat(page: Page, hub: LiveHub, out: Path) -> None:
    page.goto(f"{hub.url}/tenants/dental/chat/")
    page.wait_for_selector('[data-connection][data-state="online"]', timeout=10_000)
    page.fill("[data-input]", QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(".turn-assistant .md:not(.streaming) table", timeout=20_000)
    page.wait_for_selector("[data-send]:visible")
    page.locator(".tool-card summary").last.click()
    page.screenshot(path=str(out / "chat.png"))


def explorer(page: Page, hub: LiveHub, out: Path) -> None:
    page.goto(f"{hub.url}/tenants/dental/tools/")
    page.wait_for_selector('[data-connection][data-state="online"]', timeout=10_000)
    tool = page.locator("#tool-search_contacts")
    tool.locator("summary").click()
    tool.locator("#f-search_contacts-query").fill("alice")
    tool.locator("#f-search_contacts-limit").fill("5")
    tool.get_by_role("button", name="Run search_contacts").click()
    tool.locator("[data-output]:visible").wait_for(timeout=10_000)
    page.screenshot(path=str(out / "tools.png"))


def phone(page: Page, hub: LiveHub, out: Path) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{hub.url}/tenants/dental/chat/{hub.ids['week']}/")
    page.screenshot(path=str(out / "chat-phone.png"))


def main(out: Path) -> None:
    if not CHROMIUM.exists():
        sys.exit(f"No Chromium at {CHROMIUM}: apt-get install chromium")
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="screenshots-"))
    with Sandbox() as sandbox, FakeModel() as fake:
        script_the_model(fake)
        hub = live_hub_start(
            sandbox, root, LLM_BASE_URL=fake.url, LLM_MODEL=MODEL, LLM_API_KEY="screenshots"
        )
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    str(root / "profile"),
                    executable_path=str(CHROMIUM),
                    headless=True,
                    args=CHROMIUM_ARGS,
                    viewport={"width": 1280, "height": 800},
                    device_scale_factor=1,
                )
                page = context.new_page()
                sign_in(page, hub)
                chat(page, hub, out)
                explorer(page, hub, out)
                phone(page, hub, out)
                context.close()
        finally:
            hub.stop()
    for name in ("chat.png", "tools.png", "chat-phone.png"):
        print(out / name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    main(parser.parse_args().out)
