"""SLA countdowns in templates (sla.display does the work):

    {% sla_chip ticket %}               the ticket's most urgent open clock as a countdown chip
    {% sla_chip ticket announce=True %} …and a screen reader hears when it turns amber or red
    {% sla_clock_chip clock %}          the chip of one ClockView (the SLA panel)
    {% sla_panel ticket %}              the ticket page's SLA panel (ticket_sla_panel.html)
    {% sla_countdown_formats as f %}    the translated countdown pieces, for the script's tag

The ticket page's ticket comes with its clocks (sla.display.ticket_annotations), so the chip
and the panel cost no query there; any other ticket costs two, once.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from sla import display

register = template.Library()


@register.simple_tag
def sla_chip(ticket, announce: bool = False) -> SafeString | str:
    if ticket is None or not getattr(ticket, "pk", None):
        return ""
    clock = display.most_urgent(display.ticket_clocks(ticket))
    return display.chip_html(clock, announce=announce) if clock else ""


@register.simple_tag
def sla_clock_chip(clock: display.ClockView) -> SafeString | str:
    return display.chip_html(clock) if clock is not None and clock.is_open else ""


@register.inclusion_tag("sla/partials/ticket_sla_panel.html")
def sla_panel(ticket) -> dict:
    return {"ticket": ticket, "clocks": display.panel_order(display.ticket_clocks(ticket))}


@register.simple_tag
def sla_countdown_formats() -> dict[str, str]:
    return {**display.countdown_formats(), **display.chip_suffixes(), **display.announcements()}
