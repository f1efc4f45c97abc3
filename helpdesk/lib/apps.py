from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "helpdesk.lib"
    label = "lib"
    verbose_name = "Shared helpers"
