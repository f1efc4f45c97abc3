"""Template helpers for ticket pages: `{% load tickets_ui %}`."""

from django import template

from tickets import presenters

register = template.Library()


@register.filter
def channel_icon(channel: str) -> str:
    """The icon (static/img/icons.svg) for a channel: {{ ticket.channel|channel_icon }}."""
    return presenters.channel_icon(channel)
