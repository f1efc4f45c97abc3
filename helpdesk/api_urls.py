"""/api/v1/ — the django-ninja API (helpdesk/api.py), namespace "api".

Ninja answers a wrong method with a plain-text 405; the API's errors are JSON, so each view is
wrapped to say it as `{"error": …}` (keeping the Allow header).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, include, path
from django.utils.translation import gettext as _

from helpdesk.api import api


def _json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)  # keeps ninja's csrf_exempt flag
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allow = response.get("Allow", "")
            response = JsonResponse({"error": _("Method not allowed.")}, status=405)
            response["Allow"] = allow
        return response

    return wrapper


def _patterns() -> list[URLPattern]:
    patterns, _app_name, _namespace = api.urls
    return [
        URLPattern(p.pattern, _json_method_not_allowed(p.callback), p.default_args, p.name)
        for p in patterns
    ]


urlpatterns = [path("", include((_patterns(), "api"), namespace=api.urls_namespace))]
