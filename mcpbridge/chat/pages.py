"""The tenant's pages: the chat with its conversations, and the tool explorer.

Each view checks access first (outsiders 404, a role too low 403), then reads or
changes through the services, then renders. The pages speak to the tenant's websocket
(docs/websocket.md) for everything live; what is stored is rendered here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from config.logging import tenant_logging
from mcpbridge.chat.agent.model_client import AgentConfig
from mcpbridge.chat.approvals import approvals_waiting
from mcpbridge.chat.conversations import (
    ConversationNotFoundError,
    InvalidTitleError,
    conversation_delete,
    conversation_for_user,
    conversation_list,
    conversation_messages,
    conversation_rename,
)
from mcpbridge.chat.history import Turn, history_turns, unanswered_calls
from mcpbridge.chat.models import Conversation
from mcpbridge.chat.schema_forms import form_fields
from mcpbridge.supervisor.errors import BridgeError
from mcpbridge.tools import tenant_tools_list
from tenants.access import (
    TenantAccess,
    atenant_access_for_user,
    tenant_access_for_user,
)
from tenants.models import DESTRUCTIVE, OUTBOUND
from tenants.navigation import tenant_nav

if TYPE_CHECKING:
    from tenants.models import Tenant

SIDEBAR_CONVERSATIONS = 100


def _conversation_or_404(access: TenantAccess, user: Any, pk: int) -> Conversation:
    try:
        return conversation_for_user(tenant=access.tenant, user=user, conversation_id=pk)
    except ConversationNotFoundError as exc:
        raise Http404(exc.message) from None


def _history(conversation: Conversation) -> list[Turn]:
    messages = conversation_messages(conversation=conversation)
    waiting = approvals_waiting(conversation=conversation.pk, call_ids=unanswered_calls(messages))
    return history_turns(messages, waiting)


def _chat_context(
    request: HttpRequest, access: TenantAccess, conversation: Conversation | None
) -> dict[str, Any]:
    user = request.user
    turns = _history(conversation) if conversation else []
    return {
        "nav": tenant_nav(user, access, "chat"),
        "conversation": conversation,
        "conversations": conversation_list(tenant=access.tenant, user=user)[:SIDEBAR_CONVERSATIONS],
        "turns": turns,
        "model_configured": AgentConfig.from_settings().configured,
        "socket_path": f"/ws/tenants/{access.tenant.slug}/",
    }


@require_GET
@login_required
def tenant_home(request: HttpRequest, slug: str) -> HttpResponse:
    tenant_access_for_user(request.user, slug)
    return redirect("chat:new", slug=slug)


@require_GET
@login_required
def chat_page(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    access = tenant_access_for_user(request.user, slug)
    conversation = _conversation_or_404(access, request.user, pk) if pk is not None else None
    return render(request, "chat/chat.html", _chat_context(request, access, conversation))


@require_POST
@login_required
def conversation_rename_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = tenant_access_for_user(request.user, slug)
    conversation = _conversation_or_404(access, request.user, pk)
    try:
        conversation_rename(conversation=conversation, title=request.POST.get("title", ""))
    except InvalidTitleError as exc:
        context = _chat_context(request, access, conversation)
        context["rename_error"] = exc.message
        return render(request, "chat/chat.html", context, status=400)
    messages.success(request, "Conversation renamed.")
    return redirect("chat:conversation", slug=slug, pk=conversation.pk)


@require_POST
@login_required
def conversation_delete_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = tenant_access_for_user(request.user, slug)
    conversation = _conversation_or_404(access, request.user, pk)
    title = conversation.display_title
    conversation_delete(conversation=conversation)
    messages.success(request, f"Deleted “{title}”.")
    return redirect("chat:new", slug=slug)


# --- the tool explorer ---------------------------------------------------------------

# Tools the explorer runs only after the person confirms, naming the record.
CONFIRMED_RISKS = frozenset({DESTRUCTIVE, OUTBOUND})


async def _tool_listing(tenant: Tenant) -> tuple[list[dict[str, Any]], str]:
    """The tenant's tools with their form fields, or an error message fit to show."""
    try:
        with tenant_logging(tenant.slug):
            tools = await tenant_tools_list(tenant=tenant)
    except BridgeError as exc:
        return [], exc.message
    return [
        {
            "name": tool["name"],
            "description": tool.get("description", ""),
            "fields": form_fields(tool["inputSchema"]),
            "read_only": bool(tool.get("annotations", {}).get("readOnlyHint")),
            "risk": tool.get("risk", ""),
            "confirm": tool.get("risk") in CONFIRMED_RISKS,
        }
        for tool in tools
    ], ""


@require_GET
async def tool_explorer(request: HttpRequest, slug: str) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={request.path}")
    access = await atenant_access_for_user(user, slug)
    tools, problem = await _tool_listing(access.tenant)
    nav = await sync_to_async(tenant_nav)(user, access, "tools")
    context = {
        "nav": nav,
        "tools": tools,
        "problem": problem,
        "model_configured": AgentConfig.from_settings().configured,
        "socket_path": f"/ws/tenants/{access.tenant.slug}/",
    }
    return await sync_to_async(render)(request, "chat/tools.html", context)
