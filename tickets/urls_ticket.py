"""/agent/tickets/… and /agent/attachments/… (namespace "tickets")."""

from django.urls import path

from .views import classification, ticket

urlpatterns = [
    path("tickets/new/", ticket.ticket_create, name="create"),
    path("tickets/<int:number>/", ticket.ticket_detail, name="detail"),
    path("tickets/<int:number>/reply/", ticket.ticket_reply, name="reply"),
    path("tickets/<int:number>/properties/", ticket.ticket_properties, name="properties"),
    path("tickets/<int:number>/tags/", ticket.ticket_tags, name="tags"),
    path("tickets/<int:number>/merge/", ticket.ticket_merge, name="merge"),
    path("tickets/<int:number>/link/", ticket.ticket_link, name="link"),
    path("tickets/<int:number>/follow/", ticket.ticket_follow, name="follow"),
    path("tickets/<int:number>/take/", ticket.ticket_take, name="take"),
    path("tickets/<int:number>/presence/", ticket.ticket_presence, name="presence"),
    path("tickets/<int:number>/canned/", ticket.ticket_canned, name="canned"),
    path(
        "tickets/<int:number>/messages/<int:message_id>/split/",
        ticket.message_split,
        name="split",
    ),
    path(
        "tickets/<int:number>/messages/<int:message_id>/retry/",
        ticket.message_retry,
        name="retry_delivery",
    ),
    path("attachments/<int:attachment_id>/", ticket.attachment_download, name="attachment"),
    path(
        "tickets/<int:number>/classification/",
        classification.ticket_classification,
        name="classification",
    ),
]
