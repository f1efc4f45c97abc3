from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "helpdesk.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from .rls import sync_after_migrate

        # Once per migrate run (sender=self): row-level security, tenant-safe foreign keys and
        # grants for the runtime role are (re)applied to every tenant-owned table.
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="tenancy-rls-sync")
