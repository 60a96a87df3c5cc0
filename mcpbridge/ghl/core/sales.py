"""Core tools for calendars and opportunities."""

from __future__ import annotations

from mcpbridge.ghl.core.base import (
    DAY_OR_TIME,
    OPPORTUNITY_STATUSES,
    WHEN,
    CoreTool,
    chain,
    choice,
    count,
    event_window,
    ident,
    needs_one_of,
    slot_window,
    text,
)


def calendar_tools() -> list[CoreTool]:
    appointment_id = {"appointmentId": ident("appointment (event)")}
    return [
        CoreTool(
            "list_calendars",
            "calendars.get_calendars",
            "List the sub-account's calendars.",
            {"groupId": text("Only calendars of this group.")},
        ),
        CoreTool(
            "get_free_slots",
            "calendars.get_slots",
            "Free booking slots of a calendar between two dates (at most 31 days apart).",
            {
                "calendarId": ident("calendar"),
                "startDate": text(f"First day: {DAY_OR_TIME}."),
                "endDate": text(f"Last day: {DAY_OR_TIME}."),
                "timezone": text("IANA time zone to show slots in, e.g. America/Chicago."),
                "userId": text("Only this team member's slots."),
            },
            ("calendarId", "startDate", "endDate"),
            prepare=slot_window,
        ),
        CoreTool(
            "book_appointment",
            "calendars.create_appointment",
            "Book an appointment for a contact on a calendar (pick a time from get_free_slots).",
            {
                "calendarId": ident("calendar"),
                "contactId": ident("contact"),
                "startTime": text(f"Start: {WHEN}.", format="date-time"),
                "endTime": text(
                    f"End: {WHEN}; defaults to the calendar's slot length.", format="date-time"
                ),
                "title": text("Title shown on the calendar."),
                "appointmentStatus": choice("Initial status.", ["new", "confirmed"]),
                "assignedUserId": text("Team member who takes the appointment."),
                "address": text("Meeting address or link."),
            },
            ("calendarId", "contactId", "startTime"),
        ),
        CoreTool(
            "reschedule_appointment",
            "calendars.edit_appointment",
            "Move an appointment to a new time.",
            {
                **appointment_id,
                "startTime": text(f"New start: {WHEN}.", format="date-time"),
                "endTime": text(f"New end: {WHEN}.", format="date-time"),
            },
            ("appointmentId", "startTime"),
            rename={"appointmentId": "eventId"},
        ),
        CoreTool(
            "cancel_appointment",
            "calendars.edit_appointment",
            "Cancel an appointment (it stays on record with status cancelled).",
            appointment_id,
            ("appointmentId",),
            rename={"appointmentId": "eventId"},
            fixed={"appointmentStatus": "cancelled"},
        ),
        CoreTool(
            "list_appointments",
            "calendars.get_calendar_events",
            "List appointments between two times for a calendar, a user or a calendar group.",
            {
                "startTime": text(f"From: {DAY_OR_TIME}."),
                "endTime": text(f"To: {DAY_OR_TIME}."),
                "calendarId": text("Calendar id."),
                "userId": text("User id (appointment owner)."),
                "groupId": text("Calendar group id."),
            },
            ("startTime", "endTime"),
            prepare=chain(needs_one_of("calendarId", "userId", "groupId"), event_window),
        ),
        CoreTool(
            "get_appointment",
            "calendars.get_appointment",
            "Get one appointment.",
            appointment_id,
            ("appointmentId",),
            rename={"appointmentId": "eventId"},
        ),
    ]


def opportunity_tools() -> list[CoreTool]:
    opportunity_id = {"opportunityId": ident("opportunity")}
    fields = {
        "name": text("Opportunity name."),
        "pipelineId": text("Pipeline id (from list_pipelines)."),
        "pipelineStageId": text("Stage id within the pipeline."),
        "status": choice("Status.", OPPORTUNITY_STATUSES),
        "monetaryValue": {"type": "number", "minimum": 0, "description": "Deal value."},
        "assignedTo": text("User id of the owner."),
    }
    return [
        CoreTool(
            "search_opportunities",
            "opportunities.search_opportunity",
            "Find opportunities (deals) by text, pipeline, stage, status, contact or owner.",
            {
                "query": text("Words to look for."),
                "pipelineId": text("Only this pipeline."),
                "pipelineStageId": text("Only this stage."),
                "status": choice("Only this status.", [*OPPORTUNITY_STATUSES, "all"]),
                "contactId": text("Only this contact's opportunities."),
                "assignedTo": text("Only this owner's (user id)."),
                "limit": count("Opportunities per page."),
                "page": {"type": "integer", "minimum": 1, "description": "Page number, from 1."},
            },
            rename={
                "query": "q",
                "pipelineId": "pipeline_id",
                "pipelineStageId": "pipeline_stage_id",
                "contactId": "contact_id",
                "assignedTo": "assigned_to",
            },
        ),
        CoreTool(
            "get_opportunity",
            "opportunities.get_opportunity",
            "Get one opportunity.",
            opportunity_id,
            ("opportunityId",),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "create_opportunity",
            "opportunities.create_opportunity",
            "Create an opportunity for a contact in a pipeline.",
            {
                **fields,
                "contactId": ident("contact"),
                "status": {**fields["status"], "default": "open"},
            },
            ("name", "pipelineId", "contactId"),
        ),
        CoreTool(
            "update_opportunity",
            "opportunities.update_opportunity",
            "Change an opportunity's name, stage, value, owner or status.",
            {**opportunity_id, **fields},
            ("opportunityId",),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "set_opportunity_status",
            "opportunities.update_opportunity_status",
            "Mark an opportunity open, won, lost or abandoned.",
            {
                **opportunity_id,
                "status": choice("New status.", OPPORTUNITY_STATUSES),
                "lostReasonId": text("Why it was lost (lost reason id)."),
            },
            ("opportunityId", "status"),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "delete_opportunity",
            "opportunities.delete_opportunity",
            "Delete an opportunity permanently.",
            opportunity_id,
            ("opportunityId",),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "list_pipelines",
            "opportunities.get_pipelines",
            "List the sales pipelines with their stages (ids for opportunities).",
        ),
    ]
