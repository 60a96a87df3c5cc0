"""Seeds the database of a live server for the browser tests (run in its own process).

Reads a JSON spec on stdin: {"sandbox": url, "tokens": {location: token response}};
prints the ids it made as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from mcpbridge.chat.conversations import conversation_append, conversation_create  # noqa: E402
from mcpbridge.chat.transcript import ChatMessage, ToolCall  # noqa: E402
from mcpbridge.sandbox import DENTAL, ROOFING  # noqa: E402
from tenants.credentials import upsert_credentials  # noqa: E402
from tenants.models import Membership  # noqa: E402

PASSWORD = "pw-for-browser-tests"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
ANSWER = """\
**Alice Nguyen** is a *VIP* patient.

- Next visit: Tuesday 10:00
- Phone: `+1 555 0101 001`

| Field | Value |
| --- | --- |
| Tags | patient, vip |

<script>window.__pwned = 3</script> [a link](javascript:window.__pwned=4)
"""

WEEK = """\
Two appointments this week:

| When | Who | What | Status |
| --- | --- | --- | --- |
| Tue 7 Jan, 10:00 | **Alice Nguyen** | Cleaning | confirmed |
| Thu 9 Jan, 15:30 | **Bob Martinez** | Check-up | new |

Bob's check-up is not confirmed yet. Shall I send him an SMS reminder?
"""


def seed(tokens: dict[str, dict]) -> dict[str, int | str]:
    dental, _ = upsert_credentials({**tokens[DENTAL], "tenantId": "dental"})
    dental.name = "Bright Smile Dental"
    dental.save(update_fields=["name"])
    roofing, _ = upsert_credentials({**tokens[ROOFING], "tenantId": "roofing"})
    roofing.name = "Peak Roofing"
    roofing.save(update_fields=["name"])
    user = get_user_model().objects.create_user("dana", "dana@example.com", PASSWORD)
    user.first_name, user.last_name = "Dana", "Reyes"
    user.save()
    Membership.objects.create(user=user, tenant=dental, role=Membership.Role.MEMBER)
    Membership.objects.create(user=user, tenant=roofing, role=Membership.Role.OWNER)
    get_user_model().objects.create_superuser("sam", "sam@example.com", PASSWORD)

    history = conversation_create(tenant=dental, user=user)
    call = ToolCall("call_seed_1", "search_contacts", '{"query": "Alice"}')
    result = json.dumps(
        {"contacts": [{"id": "ct_dental_alice", "name": "Alice Nguyen"}], "note": HOSTILE}
    )
    conversation_append(
        conversation=history,
        messages=[
            ChatMessage("user", "Who is Alice?"),
            ChatMessage("assistant", "Let me look her up.", tool_calls=[call]),
            ChatMessage("tool", result, tool_call_id=call.id, tool_name=call.name, duration_ms=240),
            ChatMessage("assistant", ANSWER),
        ],
    )
    pipeline = conversation_create(tenant=dental, user=user, title="Pipeline review")
    conversation_append(conversation=pipeline, messages=[ChatMessage("user", "Open deals?")])
    week = conversation_create(tenant=dental, user=user)
    calendar = ToolCall(
        "call_seed_2", "list_appointments", '{"startTime": "2025-01-06", "endTime": "2025-01-12"}'
    )
    appointments = json.dumps(
        {
            "events": [
                {
                    "title": "Cleaning: Alice Nguyen",
                    "startTime": "2025-01-07T10:00:00Z",
                    "status": "confirmed",
                },
                {
                    "title": "Check-up: Bob Martinez",
                    "startTime": "2025-01-09T15:30:00Z",
                    "status": "new",
                },
            ]
        }
    )
    conversation_append(
        conversation=week,
        messages=[
            ChatMessage("user", "What's on the calendar this week?"),
            ChatMessage("assistant", "", tool_calls=[calendar]),
            ChatMessage(
                "tool",
                appointments,
                tool_call_id=calendar.id,
                tool_name=calendar.name,
                duration_ms=182,
            ),
            ChatMessage("assistant", WEEK),
        ],
    )
    doomed = conversation_create(tenant=dental, user=user, title="Old question")
    conversation_append(conversation=doomed, messages=[ChatMessage("user", "Old question")])
    return {"history": history.pk, "pipeline": pipeline.pk, "week": week.pk, "doomed": doomed.pk}


if __name__ == "__main__":
    spec = json.load(sys.stdin)
    sys.stdout.write(json.dumps(seed(spec["tokens"])))
