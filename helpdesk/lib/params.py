from __future__ import annotations

from django.http import HttpRequest


def int_param(request: HttpRequest, name: str, default: int, *, minimum: int = 1) -> int:
    """A positive integer query parameter; junk falls back to the default, never to a 500."""
    raw = request.GET.get(name, "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return max(value, minimum)
