"""URLs of triggers, macros and notifications (tickets.views.automation).

- settings_patterns: /settings/… inside the shared "settings" namespace (added by urls_settings)
- agent_patterns: /agent/tickets/<number>/macros/… in the "tickets" namespace
- notification_patterns: /notifications/… in the "notifications" namespace
"""

from django.urls import path

from .views import automation

settings_patterns = [
    path("triggers/", automation.trigger_list, name="triggers"),
    path("triggers/new/", automation.trigger_new, name="trigger_new"),
    path("triggers/<int:trigger_id>/", automation.trigger_edit, name="trigger_edit"),
    path("triggers/<int:trigger_id>/active/", automation.trigger_active, name="trigger_active"),
    path("triggers/<int:trigger_id>/move/", automation.trigger_move, name="trigger_move"),
    path("triggers/<int:trigger_id>/delete/", automation.trigger_delete, name="trigger_delete"),
    path("macros/", automation.macro_list, name="macros"),
    path("macros/new/", automation.macro_new, name="macro_new"),
    path("macros/<int:macro_id>/", automation.macro_edit, name="macro_edit"),
    path("macros/<int:macro_id>/delete/", automation.macro_delete, name="macro_delete"),
    path("rule-builder/row/", automation.rule_row, name="rule_row"),
]

agent_patterns = [
    path("tickets/<int:number>/macros/", automation.ticket_macros, name="macros"),
    path(
        "tickets/<int:number>/macros/<int:macro_id>/",
        automation.macro_preview,
        name="macro_preview",
    ),
    path(
        "tickets/<int:number>/macros/<int:macro_id>/send/",
        automation.macro_send,
        name="macro_send",
    ),
    path(
        "tickets/<int:number>/macros/<int:macro_id>/apply/",
        automation.macro_apply,
        name="macro_apply",
    ),
]

notification_patterns = [
    path("", automation.notification_list, name="list"),
    path("badge/", automation.notification_badge, name="badge"),
    path("read-all/", automation.notification_read_all, name="read_all"),
    path("<int:notification_id>/read/", automation.notification_read, name="read"),
    path(
        "<int:notification_id>/acknowledge/",
        automation.notification_acknowledge,
        name="acknowledge",
    ),
]
