"""Role checks for views. Outside the tenant (not staff here) is a 404, never a 403: a page of
another tenant must look exactly like a page that does not exist."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from helpdesk.tenancy.models import Membership

Role = Membership.Role
STAFF = (Role.ADMIN, Role.MANAGER, Role.AGENT)
MANAGERS = (Role.ADMIN, Role.MANAGER)
ADMINS = (Role.ADMIN,)


def staff_required(*roles: str) -> Callable:
    allowed = set(roles or STAFF)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.tenant is None:
                raise Http404
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = request.membership
            if not membership:
                raise Http404
            if membership.role not in allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.tenant is None:
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.contact:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def tenant_user_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anyone with a place in this tenant: staff member or portal customer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.tenant is None:
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.membership or request.contact):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
