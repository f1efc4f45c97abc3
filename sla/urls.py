"""SLA pages: the settings under /settings/sla/ (policies, calendars, what-if) and, from
urls_escalation, escalation policies, alert rules and the agent's escalate action."""

from django.urls import path  # noqa: F401 - the settings pages are listed here

from . import urls_escalation

settings_patterns = [] + urls_escalation.settings_patterns
agent_patterns = [] + urls_escalation.agent_patterns
