from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .models import Membership

# (key, label, url name, icon, roles allowed). Items whose URL is not installed are left out.
AGENT_NAV = [
    ("home", _("Home"), "agent:home", "home", None),
    ("inbox", _("Inbox"), "tickets:inbox", "inbox", None),
    ("contacts", _("Contacts"), "tickets:contacts", "users", None),
    ("knowledge", _("Knowledge"), "knowledge:agent_index", "book", None),
    ("reports", _("Reports"), "dashboards:index", "chart", {"admin", "manager"}),
    ("settings", _("Settings"), "settings:index", "settings", {"admin"}),
]
PORTAL_NAV = [
    ("home", _("Home"), "public:home", "home"),
    ("kb", _("Knowledge base"), "knowledge:index", "book"),
    ("requests", _("My requests"), "portal:home", "inbox"),
]


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def tenancy(request: HttpRequest) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {"site_name": "Helpdesk"}
    membership: Membership | None = getattr(request, "membership", None) or None
    context = {
        "tenant": tenant,
        "site_name": tenant.name,
        "membership": membership,
        # Still lazy: only pages that ask about the contact spend the query.
        "contact": getattr(request, "contact", None),
    }
    if membership:
        context["agent_nav"] = [
            {"key": key, "label": label, "url": url, "icon": icon}
            for key, label, name, icon, roles in AGENT_NAV
            if (roles is None or membership.role in roles) and (url := _url(name))
        ]
    context["portal_nav"] = [
        {"key": key, "label": label, "url": url, "icon": icon}
        for key, label, name, icon in PORTAL_NAV
        if (url := _url(name))
    ]
    return context
