"""Escalation policies and alert rules (/settings/sla/escalations/, /settings/sla/alerts/)
and the agent's escalate action on a ticket."""

settings_patterns: list = []
agent_patterns: list = []
