"""/agent/inbox/… (namespace "tickets"): the agents' unified inbox."""

from django.urls import path

from .views import inbox

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/new-count/", inbox.inbox_new_count, name="inbox_new_count"),
    path("inbox/bulk/", inbox.inbox_bulk, name="inbox_bulk"),
    path("inbox/views/", inbox.view_save, name="view_save"),
    path("inbox/views/<int:view_id>/delete/", inbox.view_delete, name="view_delete"),
]
