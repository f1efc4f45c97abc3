from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.accounts.decorators import staff_required


def public_home(request: HttpRequest) -> HttpResponse:
    """The tenant's branded front door: search the help centre, browse its topics and popular
    articles, sign in, or submit a request."""
    from channels_in.views_webform import request_form
    from knowledge.views_public import home_context

    context = {"nav_active": "home", "request_form": request_form(request),
               **home_context(request)}  # fmt: skip
    return render(request, "tickets/public_home.html", context)


@staff_required()
def agent_home(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/agent_home.html", {"nav_active": "home"})
