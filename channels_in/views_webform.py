"""/portal/requests/new/ (also embedded on the tenant's home page) and its confirmation."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from knowledge.deflection import deflection_submitted
from tickets.forms import form_token

from .forms import RequestForm
from .webform import TooManyRequests, check_rate, submit_request

SESSION_KEY = "last_request"


def request_form(request: HttpRequest, data=None, files=None) -> RequestForm:
    """The form for this visitor (signed-in customers skip name and email)."""
    contact = request.contact or None
    return RequestForm(data, files, contact=contact, initial={"token": form_token()})


@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    form = request_form(request, request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if form.is_bot:  # the honeypot: answer like a success, keep nothing
            request.session[SESSION_KEY] = {"number": None, "email": ""}
            return redirect("portal:request_thanks")
        contact = form.contact
        email = contact.email if contact is not None else data["email"]
        try:
            check_rate(ip=request.META.get("REMOTE_ADDR", ""), email=email)
        except TooManyRequests:
            form.add_error(None, _(
                "Too many requests in a short time. Please try again in an hour, or reply "
                "to the email about your last request."
            ))  # fmt: skip
            status = 429
        else:
            result = submit_request(
                token=data["token"] or form_token(),
                subject=data["subject"],
                description=data["description"],
                email=email,
                name=data.get("name", ""),
                contact=contact,
                attachments=data["attachments"],
                language=request.LANGUAGE_CODE,
            )
            if data["token"]:  # articles were perhaps suggested while they typed: not deflected
                deflection_submitted(flow=data["token"], ticket_number=result.ticket.number)
            request.session[SESSION_KEY] = {"number": result.ticket.number, "email": email}
            return redirect("portal:request_thanks")
    elif form.errors:
        status = 422
    return render(request, "channels_in/request_new.html",
                  {"form": form, "nav_active": "requests"}, status=status)  # fmt: skip


def request_thanks(request: HttpRequest) -> HttpResponse:
    """The confirmation: the number of the ticket this browser just opened (from the session,
    so the URL reveals nothing and cannot be guessed)."""
    last = request.session.get(SESSION_KEY)
    if not last:
        return redirect("portal:request_new")
    return render(request, "channels_in/request_thanks.html",
                  {"number": last.get("number"), "email": last.get("email", ""),
                   "request_url": _request_url(request, last.get("number")),
                   "nav_active": "requests"})  # fmt: skip


def _request_url(request: HttpRequest, number: int | None) -> str:
    """Where this browser follows the request it just sent: the portal page for a signed-in
    customer, otherwise the ticket's follow link (the same one the acknowledgement carries)."""
    from tickets import portal

    if not number:
        return ""
    if request.contact:
        return reverse("portal:request", kwargs={"request_number": number})
    ticket = portal.request_by_number(number)
    return portal.follow_url(ticket) if ticket is not None else ""
