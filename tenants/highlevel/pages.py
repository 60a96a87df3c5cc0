"""The pages a sign-in can end on besides the product: errors, and the agency's choice."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.highlevel.agency import LocationChoice


def problem(
    request: HttpRequest, *, title: str, message: str, status: int, retry: bool = True
) -> HttpResponse:
    context = {"title": title, "message": message, "retry": retry}
    return render(request, "highlevel/problem.html", context, status=status)


def not_configured(request: HttpRequest) -> HttpResponse:
    return problem(
        request,
        title="Sign in with HighLevel is not set up",
        message=(
            "This hub has no HighLevel app configured. An administrator must set "
            "GHL_CLIENT_ID and GHL_CLIENT_SECRET (see docs/configuration.md)."
        ),
        status=503,
        retry=False,
    )


def agency_picker(
    request: HttpRequest,
    choices: list[LocationChoice],
    *,
    note: str = "",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"choices": choices, "note": note, "error": error}
    return render(request, "highlevel/agency.html", context, status=status)


def agency_expired(request: HttpRequest) -> HttpResponse:
    return problem(
        request,
        title="Choose your sub-accounts again",
        message=(
            "The agency sign-in this page belonged to has expired or was already used. "
            "Sign in with HighLevel again to connect a sub-account."
        ),
        status=400,
    )


def agency_without_locations(request: HttpRequest) -> HttpResponse:
    return problem(
        request,
        title="No sub-account was shared",
        message=(
            "You signed in as an agency, and HighLevel gave this app access to none of its "
            "sub-accounts. Install the app in a sub-account (or choose a sub-account on "
            "HighLevel's screen), then sign in again."
        ),
        status=400,
    )
