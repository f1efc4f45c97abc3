"""Error pages: HTML for browsers, JSON {"error": …} under /api/, never a traceback."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _


def _respond(request: HttpRequest, status: int, message: str, template: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=status)
    try:
        body = loader.render_to_string(template, {"message": message}, request)
    except Exception:  # noqa: BLE001 - an error page must not fail in turn
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{message}</p>"
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return _respond(request, 400, _("The request could not be understood."), "errors/400.html")


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _respond(request, 403, _("You do not have permission to do that."), "errors/403.html")


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _respond(request, 404, _("That page does not exist."), "errors/404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the context processors may need the database that just failed.
    message = _("Something went wrong on our side. It has been logged; please try again.")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=500)
    return HttpResponse(
        loader.render_to_string("errors/500.html", {"message": message}), status=500
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _respond(
        request,
        403,
        _("Your session expired or the form was opened elsewhere. Reload the page and try again."),
        "errors/csrf.html",
    )
