from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "helpdesk.lib"
    label = "lib"
    verbose_name = "Shared helpers"

    def ready(self) -> None:
        from . import secrets  # noqa: F401  (registers the encryption key checks)
