"""The availability menu in the staff top bar: `{% my_availability as me %}`."""

from django import template
from django.utils.translation import gettext_lazy as _

from tickets.automation.models import AgentProfile

register = template.Library()

Availability = AgentProfile.Availability
HINTS = {
    Availability.ONLINE: _("New tickets are assigned to you"),
    Availability.AWAY: _("You keep your tickets; no new ones"),
    Availability.OFFLINE: _("Not working now; no new tickets"),
}


@register.simple_tag(takes_context=True)
def my_availability(context) -> dict | None:
    """The signed-in staff member's status and the choices, or None outside the staff app."""
    request = context.get("request")
    if request is None or not context.get("membership") or not request.user.is_authenticated:
        return None
    value = (
        AgentProfile.objects.filter(user=request.user)
        .values_list("availability", flat=True)
        .first()
    ) or Availability.ONLINE  # no profile yet: assignment counts them online
    return {
        "value": value,
        "label": Availability(value).label,
        "choices": [(v, label, HINTS[v]) for v, label in Availability.choices],
    }
