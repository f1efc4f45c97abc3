"""Deflection on the "submit a request" form: suggestions while typing (HTMX, debounced by the
form) and "this solved it". See knowledge/deflection.py."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from helpdesk.lib.ratelimit import allow

from . import deflection, selectors

# Suggestions follow typing (one request per pause): generous, but a script can't scrape.
PER_IP = (240, 60 * 60)


def _tenant_or_404(request: HttpRequest) -> None:
    if request.tenant is None:
        raise Http404


@require_GET
def suggestions(request: HttpRequest) -> HttpResponse:
    _tenant_or_404(request)
    hits = []
    if allow("kb-deflect-ip", request.META.get("REMOTE_ADDR", ""), limit=PER_IP[0],
             window=PER_IP[1]):  # fmt: skip
        hits = deflection.suggestions_for_request(
            flow=request.GET.get("token", ""),
            subject=request.GET.get("subject", "")[: deflection.MAX_TEXT],
            description=request.GET.get("description", "")[: deflection.MAX_TEXT],
            language=request.LANGUAGE_CODE,
        )
    links = [(h, selectors.public_article_link(h.article)) for h in hits]
    context = {"suggestions": links, "flow": request.GET.get("token", "")}
    return render(request, "knowledge/partials/deflect_suggestions.html", context)


@require_POST
def solved(request: HttpRequest) -> HttpResponse:
    _tenant_or_404(request)
    try:
        article_id = int(request.POST.get("article_id", ""))
    except ValueError:
        return HttpResponseBadRequest()
    row = deflection.deflection_solved(flow=request.POST.get("token", ""), article_id=article_id)
    if row is None:
        return HttpResponseBadRequest()
    context = {"article": row.article, "url": selectors.public_article_link(row.article)}
    return render(request, "knowledge/partials/deflect_solved.html", context)
