"""POST /channels/email/<webhook_token>/: providers that deliver inbound mail over HTTP
(Mailgun's `body-mime`, SendGrid's `email`, or the raw message as the request body).

The token names one mailbox of this tenant (the host decides the tenant; another tenant's token
is a 404). The raw message is stored before the answer, so 202 means "we have it"; a duplicate
delivery answers 200 with the ticket it already made. Bad mail is stored and flagged, not
refused: a provider would only retry it.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .email import MAX_RAW_BYTES, receive_email
from .models import InboundEmail, Mailbox

FIELDS = ("body-mime", "email", "message", "raw")


def _raw(request: HttpRequest) -> bytes:
    content_type = request.content_type or ""
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        for name in FIELDS:
            if name in request.FILES:
                return request.FILES[name].read()
            if request.POST.get(name):
                return request.POST[name].encode("utf-8", "surrogateescape")
        return b""
    return request.body


@csrf_exempt
@require_POST
def email_webhook(request: HttpRequest, webhook_token: str) -> JsonResponse:
    if request.tenant is None:
        raise Http404
    mailbox = Mailbox.objects.filter(webhook_token=webhook_token, is_active=True).first()
    if mailbox is None:
        return JsonResponse({"error": "Unknown mailbox."}, status=404)
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_RAW_BYTES:
        return JsonResponse({"error": "Message larger than 50 MB."}, status=413)
    raw = _raw(request)
    if not raw.strip():
        return JsonResponse(
            {"error": f"No message: send the raw MIME as the body or as one of {FIELDS}."},
            status=400,
        )
    stored = receive_email(raw, via=InboundEmail.Via.WEBHOOK, mailbox=mailbox)
    body = {
        "status": stored.status,
        "inbound_id": stored.pk,
        "ticket": stored.ticket.number if stored.ticket_id else None,
    }
    if stored.status == InboundEmail.Status.FAILED:
        body["error"] = stored.error.splitlines()[0] if stored.error else ""
    return JsonResponse(body, status=200 if stored.status == InboundEmail.Status.DUPLICATE else 202)
