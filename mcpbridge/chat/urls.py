from __future__ import annotations

from django.urls import path

from mcpbridge.chat import pages

app_name = "chat"

urlpatterns = [
    path("tenants/<slug:slug>/", pages.tenant_home, name="home"),
    path("tenants/<slug:slug>/chat/", pages.chat_page, name="new"),
    path("tenants/<slug:slug>/chat/<int:pk>/", pages.chat_page, name="conversation"),
    path(
        "tenants/<slug:slug>/chat/<int:pk>/rename/",
        pages.conversation_rename_view,
        name="rename",
    ),
    path(
        "tenants/<slug:slug>/chat/<int:pk>/delete/",
        pages.conversation_delete_view,
        name="delete",
    ),
    path("tenants/<slug:slug>/tools/", pages.tool_explorer, name="tools"),
]
