"""/portal/… pages of the ticket app, namespace "portal" (DESIGN.md §3)."""

from django.urls import path

from .views import portal

urlpatterns = [
    path("", portal.portal_home, name="home"),
    path("requests/", portal.portal_requests, name="requests"),
    path("requests/<int:request_number>/", portal.portal_request, name="request"),
    path("requests/<int:request_number>/reply/", portal.portal_reply, name="request_reply"),
    path("requests/<int:request_number>/solve/", portal.portal_solve, name="request_solve"),
    path("requests/<int:request_number>/reopen/", portal.portal_reopen, name="request_reopen"),
    path(
        "requests/<int:request_number>/follow-up/",
        portal.portal_follow_up,
        name="request_follow_up",
    ),
    path(
        "requests/<int:request_number>/files/<int:attachment_id>/",
        portal.portal_attachment,
        name="attachment",
    ),
    path(
        "requests/<int:request_number>/follow/<str:follow_token>/",
        portal.portal_request_follow,
        name="request_follow",
    ),
]
