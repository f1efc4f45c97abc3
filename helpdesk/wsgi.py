import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

application = get_wsgi_application()

from helpdesk.tenancy.checks import enforce_runtime_role  # noqa: E402

enforce_runtime_role("web")
