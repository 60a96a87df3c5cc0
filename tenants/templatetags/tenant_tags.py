from __future__ import annotations

from django import template

from tenants.models import TOOL_RISKS

register = template.Library()


@register.filter
def join_scopes(scopes: frozenset[str]) -> str:
    """Scopes in their natural order (read, write, destructive, outbound)."""
    return ", ".join(risk for risk in TOOL_RISKS if risk in scopes) or "nothing"
