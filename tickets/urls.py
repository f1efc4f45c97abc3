from django.urls import path

from . import (
    urls_automation,
    urls_contacts,
    urls_inbox,
    urls_portal,
    urls_settings,
    urls_ticket,
)
from .views import home

public_patterns = [path("", home.public_home, name="home")]
agent_home_patterns = [path("", home.agent_home, name="home")]
portal_patterns = urls_portal.urlpatterns

# /agent/… pages of the ticket app, namespace "tickets" (tickets:inbox, tickets:detail, …).
agent_patterns = urls_inbox.urlpatterns + urls_ticket.urlpatterns + urls_contacts.urlpatterns
agent_patterns += urls_automation.agent_patterns  # the composer's macros

# /notifications/…, namespace "notifications".
notification_patterns = urls_automation.notification_patterns

# /settings/… pages of the ticket app, inside the shared "settings" namespace.
settings_patterns = urls_settings.urlpatterns
