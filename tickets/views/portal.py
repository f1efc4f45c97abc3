"""The customer portal (/portal/): a signed-in customer's requests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.accounts.decorators import customer_required


@customer_required
def portal_home(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/portal_home.html", {"nav_active": "requests"})
