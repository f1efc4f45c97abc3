"""GET/POST /channels/<provider>/<channel_token>/: every messaging app's webhook.

The host decides the tenant; the token names one active channel of that tenant and provider
(another tenant's token is a 404). GET answers the provider's URL-verification handshake;
POST is verified (403 for a wrong or replayed signature, 400 for none), parsed, and each
message ingested in this request's transaction; then the provider gets the body it expects.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import adapter_for
from .base import MAX_BODY, MessagingError
from .models import MessagingChannel
from .services import receive

logger = logging.getLogger(__name__)


@csrf_exempt
def messaging_webhook(request: HttpRequest, provider: str, channel_token: str) -> HttpResponse:
    if request.tenant is None:
        raise Http404
    channel = MessagingChannel.objects.filter(
        webhook_token=channel_token, provider=provider, is_active=True
    ).first()
    if channel is None:
        return JsonResponse({"error": "Unknown messaging channel."}, status=404)
    if request.method not in {"GET", "POST"}:
        return JsonResponse({"error": "GET or POST."}, status=405)
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
        return JsonResponse({"error": "The request is larger than 1 MB."}, status=413)
    adapter = adapter_for(channel)
    try:
        handshake = adapter.challenge(request)
        if handshake is not None:
            return handshake
        if request.method == "GET":
            return JsonResponse({"error": f"{adapter.label} has no GET handshake."}, status=405)
        adapter.verify(request)
        messages = adapter.parse(request)
    except MessagingError as error:
        logger.info("%s webhook refused (%s): %s", provider, error.status, error)
        return JsonResponse({"error": str(error)}, status=error.status)
    for inbound in messages:
        receive(channel, inbound)
    return adapter.acknowledge()
