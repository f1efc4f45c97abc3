"""Escalation policies and alert rules (/settings/sla/escalations/, /settings/sla/alerts/)
and the agent's escalate action on a ticket."""

from django.urls import path

from . import views_escalation as views

settings_patterns: list = [
    path("sla/escalations/", views.policy_list, name="sla_escalations"),
    path("sla/escalations/new/", views.policy_new, name="sla_escalation_new"),
    path("sla/escalations/<int:escalation_id>/", views.policy_edit, name="sla_escalation_edit"),
    path("sla/escalations/<int:escalation_id>/active/", views.policy_active,
         name="sla_escalation_active"),
    path("sla/escalations/<int:escalation_id>/move/", views.policy_move,
         name="sla_escalation_move"),
    path("sla/escalations/<int:escalation_id>/delete/", views.policy_delete,
         name="sla_escalation_delete"),
    path("sla/alerts/", views.rule_list, name="sla_alerts"),
    path("sla/alerts/new/", views.rule_new, name="sla_alert_new"),
    path("sla/alerts/<int:alert_rule_id>/", views.rule_edit, name="sla_alert_edit"),
    path("sla/alerts/<int:alert_rule_id>/active/", views.rule_active, name="sla_alert_active"),
    path("sla/alerts/<int:alert_rule_id>/move/", views.rule_move, name="sla_alert_move"),
    path("sla/alerts/<int:alert_rule_id>/delete/", views.rule_delete, name="sla_alert_delete"),
]  # fmt: skip
agent_patterns: list = [
    path("tickets/<int:number>/escalate/", views.escalate, name="escalate"),
]
