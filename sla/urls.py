"""SLA pages: the settings under /settings/sla/ (policies, calendars, what-if) and, from
urls_escalation, escalation policies, alert rules and the agent's escalate action."""

from django.urls import path

from . import urls_escalation, views

settings_patterns = [
    path("sla/", views.policy_list, name="sla"),
    path("sla/new/", views.policy_new, name="sla_new"),
    path("sla/what-if/", views.policy_whatif, name="sla_whatif"),
    path("sla/<int:policy_id>/", views.policy_edit, name="sla_edit"),
    path("sla/<int:policy_id>/move/", views.policy_move, name="sla_move"),
    path("sla/<int:policy_id>/active/", views.policy_active, name="sla_active"),
    path("sla/<int:policy_id>/delete/", views.policy_delete, name="sla_delete"),
    path("sla/calendars/", views.calendar_list, name="sla_calendars"),
    path("sla/calendars/new/", views.calendar_new, name="sla_calendar_new"),
    path("sla/calendars/<int:calendar_id>/", views.calendar_edit, name="sla_calendar_edit"),
    path(
        "sla/calendars/<int:calendar_id>/default/",
        views.calendar_default,
        name="sla_calendar_default",
    ),
    path(
        "sla/calendars/<int:calendar_id>/delete/",
        views.calendar_delete,
        name="sla_calendar_delete",
    ),
    path(
        "sla/calendars/<int:calendar_id>/dates/",
        views.calendar_date_add,
        name="sla_calendar_date_add",
    ),
    path(
        "sla/calendars/<int:calendar_id>/dates/<int:date_id>/delete/",
        views.calendar_date_delete,
        name="sla_calendar_date_delete",
    ),
] + urls_escalation.settings_patterns
agent_patterns = [] + urls_escalation.agent_patterns
