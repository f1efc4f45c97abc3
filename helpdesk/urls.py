"""URLs on a tenant's host (<slug>.<base domain> or a custom domain). DESIGN.md §3."""

from django.urls import include, path

from channels_in import urls as channels_urls
from helpdesk import views as process_views
from helpdesk.accounts import urls as accounts_urls
from helpdesk.tenancy import urls as tenancy_urls
from knowledge import urls as knowledge_urls
from sla import urls as sla_urls
from tickets import urls as tickets_urls

settings_patterns = (
    tenancy_urls.settings_patterns
    + accounts_urls.settings_patterns
    + tickets_urls.settings_patterns
    + channels_urls.settings_patterns
    + sla_urls.settings_patterns
)

urlpatterns = [
    path("", include((tickets_urls.public_patterns, "public"))),
    path("agent/", include((tickets_urls.agent_home_patterns, "agent"))),
    path("agent/", include((tickets_urls.agent_patterns, "tickets"))),
    path("agent/", include((sla_urls.agent_patterns, "sla"))),
    path("", include((knowledge_urls.patterns, "knowledge"))),
    path(
        "portal/",
        include((tickets_urls.portal_patterns + channels_urls.portal_patterns, "portal")),
    ),
    path("settings/", include((settings_patterns, "settings"))),
    path("notifications/", include((tickets_urls.notification_patterns, "notifications"))),
    path("channels/", include((channels_urls.webhook_patterns, "channels"))),
    path("accounts/", include("helpdesk.accounts.urls")),
    path("api/v1/", include("helpdesk.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", process_views.healthz, name="healthz"),
    path("readyz", process_views.readyz, name="readyz"),
]

handler400 = "helpdesk.lib.errors.bad_request"
handler403 = "helpdesk.lib.errors.permission_denied"
handler404 = "helpdesk.lib.errors.page_not_found"
handler500 = "helpdesk.lib.errors.server_error"
