"""/channels/<provider>/<channel_token>/ (inside the "channels" namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "<str:provider>/<str:channel_token>/",
        views.messaging_webhook,
        name="messaging_webhook",
    ),
]
