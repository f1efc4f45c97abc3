from django.urls import path

from . import views

settings_patterns = [
    path("", views.settings_index, name="index"),
    path("general/", views.settings_general, name="general"),
    path("security/", views.settings_security, name="security"),
]
