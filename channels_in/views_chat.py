"""The live chat widget's HTTP endpoints under /channels/chat/ (JSON, plain HTTP polling: no
websocket server needed). Called cross-origin from the sites the tenant allows (CORS); a
conversation is reached only with its session token, which the visitor's browser holds.

  GET  config/                       online or not, title, greeting
  POST start/                        {text, name?, email?, client_id?} -> {session, messages}
  GET  <session>/messages/?after=ID  new public messages (the widget polls)
  POST <session>/messages/           {text, client_id?}
  POST <session>/transcript/         {email?} -> the conversation by email
  POST offline/                      {text, email, name?} outside chat hours
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from helpdesk.lib.ratelimit import allow

from . import chat
from .models import ChatSession


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def chat_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Tenant host only; the Origin must be allowed (same-origin requests carry none or their
    own); answers preflights; errors as JSON."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.tenant is None:
            raise Http404
        settings = chat.chat_settings()
        origin = request.headers.get("Origin", "")
        if origin and not chat.origin_allowed(origin, settings):
            return JsonResponse({"error": "This site may not use the chat."}, status=403)
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        elif not settings.enabled:
            response = JsonResponse({"error": "Chat is switched off."}, status=404)
        else:
            try:
                response = view(request, settings, *args, **kwargs)
            except chat.ChatError as error:
                response = JsonResponse({"error": str(error)}, status=400)
        return _cors(response, origin) if origin else response

    return wrapper


def _data(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise chat.ChatError("The request body is not JSON.") from None
        return data if isinstance(data, dict) else {}
    return request.POST.dict()


def _limited(request: HttpRequest, scope: str, limit: int) -> bool:
    return not allow(f"chat-{scope}", request.META.get("REMOTE_ADDR", ""), limit=limit, window=60)


def _session(token: str) -> ChatSession:
    found = ChatSession.objects.select_related("ticket", "contact").filter(token=token).first()
    if found is None:
        raise Http404
    return found


def _too_many() -> JsonResponse:
    return JsonResponse({"error": "Too many messages; wait a minute."}, status=429)


@chat_endpoint
def config(request: HttpRequest, settings) -> HttpResponse:
    if request.method != "GET":
        return JsonResponse({"error": "GET only."}, status=405)
    return JsonResponse(chat.widget_config(settings))


@chat_endpoint
def start(request: HttpRequest, settings) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only."}, status=405)
    if _limited(request, "start", 10):
        return _too_many()
    data = _data(request)
    session = chat.chat_start(
        text=str(data.get("text", "")), name=str(data.get("name", "")),
        email=str(data.get("email", "")), origin=request.headers.get("Origin", ""),
        client_id=str(data.get("client_id", ""))[:64],
    )  # fmt: skip
    return JsonResponse(
        {"session": session.token, "ticket": session.ticket.number,
         "messages": chat.chat_messages(session=session)}, status=201,
    )  # fmt: skip


@chat_endpoint
def messages(request: HttpRequest, settings, session_token: str) -> HttpResponse:
    session = _session(session_token)
    if request.method == "POST":
        if _limited(request, "post", 30):
            return _too_many()
        data = _data(request)
        result = chat.chat_post(session=session, text=str(data.get("text", "")),
                                client_id=str(data.get("client_id", ""))[:64])  # fmt: skip
        return JsonResponse({"id": result.message.pk, "duplicate": result.duplicate}, status=201)
    if request.method != "GET":
        return JsonResponse({"error": "GET or POST."}, status=405)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    return JsonResponse({"messages": chat.chat_messages(session=session, after=after),
                         "online": chat.is_open(settings)})  # fmt: skip


@chat_endpoint
def transcript(request: HttpRequest, settings, session_token: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only."}, status=405)
    session = _session(session_token)
    if _limited(request, "transcript", 5):
        return _too_many()
    address = chat.chat_transcript_request(session=session,
                                           email=str(_data(request).get("email", "")))  # fmt: skip
    return JsonResponse({"sent_to": address}, status=202)


@chat_endpoint
def offline(request: HttpRequest, settings) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only."}, status=405)
    if _limited(request, "offline", 5):
        return _too_many()
    data = _data(request)
    result = chat.chat_offline_message(
        text=str(data.get("text", "")), email=str(data.get("email", "")),
        name=str(data.get("name", "")),
    )  # fmt: skip
    return JsonResponse({"ticket": result.ticket.number}, status=201)
