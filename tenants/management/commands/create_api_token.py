"""``manage.py create_api_token TENANT NAME``: print a new API token of a tenant, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tenants.access import api_token_create
from tenants.models import TOOL_RISKS, Membership, Tenant, scopes_parse


class Command(BaseCommand):
    help = (
        "Create an API token for a tenant and print its plaintext (only to stdout, only "
        "now), e.g. TENANT_API_TOKEN=$(manage.py create_api_token demo smoke)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("name", help="What the token is for.")
        parser.add_argument(
            "--role",
            choices=[Membership.Role.MEMBER, Membership.Role.VIEWER],
            default=Membership.Role.MEMBER,
            help="member (list and call tools, the default) or viewer (list only).",
        )
        parser.add_argument(
            "--scope",
            default="read,write",
            help=(
                "The risks of the tools it may call, a comma list of "
                f"{', '.join(TOOL_RISKS)} (default read,write; a viewer's is read)."
            ),
        )
        parser.add_argument("--expires-days", type=int, default=None, help="Default: never.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        names = {part.strip() for part in options["scope"].split(",") if part.strip()}
        unknown = names - set(TOOL_RISKS)
        if unknown or not names:
            raise CommandError(f"--scope takes a comma list of {', '.join(TOOL_RISKS)}.")
        token, plaintext = api_token_create(
            tenant=tenant,
            name=options["name"][:100],
            created_by=None,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
            role=options["role"],
            scopes=scopes_parse(options["scope"]),
        )
        self.stdout.write(plaintext)
        self.stderr.write(
            f"Created API token {token.prefix}… for {tenant.slug}; it is not shown again."
        )
