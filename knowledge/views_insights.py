"""Knowledge › Self-service: what the help centre achieved in a period (knowledge/insights.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from helpdesk.accounts.decorators import staff_required
from helpdesk.lib.params import int_param

from .insights import PERIODS, insights


@staff_required()
@require_GET
def self_service(request: HttpRequest) -> HttpResponse:
    report = insights(days=int_param(request, "days", 30))
    context = {"nav_active": "knowledge", "report": report, "periods": PERIODS}
    return render(request, "knowledge/insights.html", context)
