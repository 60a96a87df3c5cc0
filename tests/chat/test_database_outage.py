"""The database going away while an answer streams: kept when it comes back, else said plainly."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from mcpbridge.chat import turns
from mcpbridge.chat.models import Message
from tests.chat.fake_model import text
from tests.database_faults import EndsWhenRetried

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="ends the hub's server connections from the server side; set DATABASE_URL",
    ),
]


def stored(conversation_id: int) -> list[tuple[str, str]]:
    rows = Message.objects.filter(conversation_id=conversation_id).order_by("id")
    return [(m.role, m.content) for m in rows]


async def test_an_answer_streamed_while_the_database_went_away_is_stored_when_it_is_back(
    fake_model, turn, events, db_outage
):
    handler = EndsWhenRetried(db_outage)
    logging.getLogger(turns.__name__).addHandler(handler)
    fake_model.push(dataclasses.replace(text("Kept ", "after all."), before_end=db_outage))
    seen = events()
    try:
        conversation = await turn("Hello", emit=seen)
    finally:
        logging.getLogger(turns.__name__).removeHandler(handler)

    assert db_outage.happened
    assert handler.retried >= 1
    assert seen.types[-1] == "chat.done", seen.items
    assert await sync_to_async(stored)(conversation.pk) == [
        ("user", "Hello"),
        ("assistant", "Kept after all."),
    ]


async def test_an_answer_the_database_would_not_take_is_shown_and_said_to_be_unsaved(
    fake_model, turn, events, db_outage, monkeypatch
):
    outage = db_outage
    monkeypatch.setattr(turns, "RECORD_RETRY_DELAYS", (0.01, 0.01))
    fake_model.push(dataclasses.replace(text("Shown ", "but lost."), before_end=outage))
    seen = events()

    conversation = await turn("Hello", emit=seen)

    assert outage.happened
    # The user keeps the answer on the page, and is told it is not in the history.
    assert seen.of("chat.text")[-1]["html"] == "<p>Shown but lost.</p>\n"
    error = seen.items[-1]
    assert (error["type"], error["code"]) == ("chat.error", "not_saved")
    assert "not saved" in error["message"]
    assert "chat.done" not in seen.types
    # Back again: the conversation holds what was stored before the outage, unharmed.
    await sync_to_async(outage.end)()
    assert await sync_to_async(stored)(conversation.pk) == [("user", "Hello")]
