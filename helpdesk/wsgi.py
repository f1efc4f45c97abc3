import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

try:
    application = get_wsgi_application()
    from helpdesk.tenancy.checks import enforce_runtime_role

    enforce_runtime_role("web")
except ImproperlyConfigured as error:
    # The operator's to fix: one line naming the setting, not a traceback.
    sys.stderr.write(f"Configuration error: {error}\n")
    sys.exit(2)
