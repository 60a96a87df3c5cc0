from __future__ import annotations

from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns
from django.urls import include, path

from tenants.highlevel import views
from tenants.highlevel.provider import HighLevelProvider

urlpatterns = [
    *default_urlpatterns(HighLevelProvider),
    path(
        "highlevel/",
        include([path("agency/", views.agency_locations, name="highlevel_agency")]),
    ),
]
