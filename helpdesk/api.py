"""The JSON API at /api/v1/ (DESIGN.md §3): bearer tokens, an OpenAPI schema, errors as JSON.

The tenant is already current when a request gets here (TenantMiddleware, from the Host
header), so a token is looked up among this tenant's tokens only: another tenant's token is
simply unknown (401). Every error is `{"error": "…"}` with the right status, never a page or a
traceback, and an error response never leaves half a change behind (the request's transaction
is rolled back).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from helpdesk.accounts.models import ApiToken
from helpdesk.accounts.selectors import membership_for_user
from helpdesk.accounts.services import api_token_authenticate
from tickets.api import contacts_router, ticket_state, tickets_router
from tickets.services import ConflictError, TicketError

logger = logging.getLogger("helpdesk.api")


class BearerToken(HttpBearer):
    """`Authorization: Bearer hd_…`: a live token of an active member of this tenant."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        if getattr(request, "tenant", None) is None:
            return None
        api_token = api_token_authenticate(token.strip())
        if api_token is None:
            return None
        user = api_token.user
        request.user = user
        # The member's role (admin, manager, agent) for operations that need one; read lazily.
        request.membership = SimpleLazyObject(lambda: membership_for_user(user))
        return api_token


api = NinjaAPI(
    urls_namespace="api",
    title="Helpdesk API",
    version="1",
    description=(
        "Tickets, messages and contacts of one help desk. Authenticate with "
        "`Authorization: Bearer <token>` (create a token under Account → API tokens). "
        'Errors are JSON: `{"error": "…"}`.'
    ),
    docs_url=None,  # the interactive page would load assets from a CDN: serve the schema only
    docs_decorator=require_safe,  # openapi.json: GET/HEAD only, no token needed
    auth=BearerToken(),
)
api.add_router("/tickets", tickets_router, tags=["tickets"])
api.add_router("/contacts", contacts_router, tags=["contacts"])


def error_response(request: HttpRequest, status: int, message: str, **extra: Any) -> HttpResponse:
    """`{"error": message, **extra}`. Under ATOMIC_REQUESTS the request's transaction is marked
    for rollback, so an error never commits part of a change."""
    if connection.in_atomic_block and not connection.needs_rollback:
        transaction.set_rollback(True)
    return api.create_response(request, {"error": message, **extra}, status=status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(request, 422, _("The request is not valid."), details=exc.errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        request, 401, _("Authentication required: send a valid API token as a Bearer token.")
    )
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, exc.status_code, str(exc))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(request, 403, str(exc) or _("You do not have permission to do that."))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 404, _("Not found."))


api.add_exception_handler(ObjectDoesNotExist, _not_found)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, 413, _("The request body is too large."))


@api.exception_handler(SuspiciousOperation)
def _bad_request(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return error_response(request, 400, _("The request could not be understood."))


@api.exception_handler(ConflictError)
def _conflict(request: HttpRequest, exc: ConflictError) -> HttpResponse:
    return error_response(
        request, 409, str(exc), fields=exc.fields, current=ticket_state(exc.ticket)
    )


@api.exception_handler(TicketError)
def _ticket_error(request: HttpRequest, exc: TicketError) -> HttpResponse:
    return error_response(request, 400, str(exc))


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(request, 500, "Internal error")
