"""URLs on the bare base domain: the product's landing page and tenant sign-up."""

from django.urls import include, path

from helpdesk import views as process_views
from helpdesk.tenancy import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", process_views.healthz, name="healthz"),
    path("readyz", process_views.readyz, name="readyz"),
]

handler400 = "helpdesk.lib.errors.bad_request"
handler403 = "helpdesk.lib.errors.permission_denied"
handler404 = "helpdesk.lib.errors.page_not_found"
handler500 = "helpdesk.lib.errors.server_error"
