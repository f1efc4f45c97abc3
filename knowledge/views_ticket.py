"""The composer's article picker on the agent's ticket page (/agent/kb/picker/).

  picker/?ticket=<number>&q=<text>&kind=reply|note
      the options of the "Insert article link" dialog: published articles for `q` (the ticket's
      language first), or, with no `q`, the ones suggested for the ticket. Internal articles
      are marked, and disabled with the reason when `kind` is a public reply: they have no page
      on the help centre, so only an internal note may link them (the agents' link).

The KB panel itself is knowledge.views.suggest (`?ticket=`); the text and links come from
knowledge.from_ticket. A ticket number of another tenant, or none, is a 404.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.accounts.decorators import staff_required

from . import from_ticket
from .views import _methods, _ticket_param

PICKER_RESULTS = 10
KINDS = {"reply", "note"}


@staff_required()
@_methods("GET")
def article_picker(request: HttpRequest) -> HttpResponse:
    ticket = _ticket_param(request, "ticket")
    query = request.GET.get("q", "").strip()[:200]
    kind = request.GET.get("kind", "reply")
    kind = kind if kind in KINDS else "reply"
    if query:
        hits = from_ticket.article_search(query, ticket, limit=PICKER_RESULTS)
    elif ticket is not None:
        hits = from_ticket.ticket_suggestions(ticket, limit=PICKER_RESULTS)
    else:
        hits = []
    rows = [(h, from_ticket.article_link(h.article)) for h in hits]
    context = {"rows": rows, "query": query, "kind": kind, "ticket": ticket}
    return render(request, "knowledge/partials/article_picker.html", context)
