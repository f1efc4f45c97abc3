import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _check_database_role(**kwargs) -> None:
    from helpdesk.tenancy.checks import enforce_runtime_role

    enforce_runtime_role("worker")
