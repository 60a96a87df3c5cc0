from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from tenants.models import DESTRUCTIVE, OUTBOUND, READ, WRITE, Membership, Tenant

SCOPE_CHOICES = [
    (READ, "Read: search, list and look up records"),
    (WRITE, "Write: create and update records"),
    (DESTRUCTIVE, "Destructive: delete, cancel and void"),
    (OUTBOUND, "Outbound: send messages, emails and invoices to customers"),
]

LIFETIMES = [("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “go-live script”.")
    role = forms.ChoiceField(
        choices=[
            (Membership.Role.MEMBER, "Member: list and call tools"),
            (Membership.Role.VIEWER, "Viewer: list tools only"),
        ],
        initial=Membership.Role.MEMBER,
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        initial=[READ, WRITE],
        widget=forms.CheckboxSelectMultiple,
        label="May call tools that",
        help_text="A viewer token may only read.",
    )
    expires = forms.ChoiceField(choices=LIFETIMES, required=False, label="Expires")

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires")
        return timezone.now() + timedelta(days=int(days)) if days else None


class ApprovalPolicyForm(forms.Form):
    approval_policy = forms.ChoiceField(
        choices=Tenant.ApprovalPolicy.choices,
        widget=forms.RadioSelect,
        label="Ask a person in the chat before",
    )
