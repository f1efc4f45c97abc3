"""/portal/… pages of the ticket app, namespace "portal" (DESIGN.md §3)."""

from django.urls import path

from .views import portal

urlpatterns = [path("", portal.portal_home, name="home")]
