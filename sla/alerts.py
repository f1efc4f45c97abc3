"""SLA alert rules (预警) and their acknowledgement chain (docs/sla.md › Escalation and alerts).

    raise_alerts(ticket, event=…, cause=…, clock=…)   in the caller's transaction (the
                                                      automation job, or the agent's escalation)
    acknowledge(alert_id=…, user=…)                  stops the chain; the notification centre's
                                                      "Acknowledge" calls it through
                                                      notification_acknowledged
    sweep(now=None, send=True) -> [tenant ids]       beat, every minute, across tenants: which
                                                      tenants have a chain step due
    advance(now=None) -> int                         per tenant: the due steps, claimed by one
                                                      set-based UPDATE and delivered
    recipients(ticket, codes, users) -> [User]       who "assignee", "team", "team_leads",
                                                      "managers" and named people are

Every active rule of the event (sla_warning, sla_breached, escalated; optionally only some
clocks) raises one Alert per (rule, ticket, cause), claimed with INSERT … ON CONFLICT DO
NOTHING, so a re-run job alerts nobody twice. Step 1 tells the rule's recipients, in the app
(notifications.notify with the key "alert:<id>:<step>", idempotent), by email and by webhook
(the outbox: sent after commit). With `ack_within_minutes` and a chain, `next_step_at` is set;
when it passes and nobody has acknowledged, the beat sweep tells the next step's recipients,
and so on to the end of the chain. Acknowledging any notification of the alert acknowledges it.

"Team leads" are the members of the ticket's team whose role in the tenant is manager or
administrator (tickets' teams have no lead flag). "Managers" are the tenant's managers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, connections, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.accounts.models import User
from helpdesk.lib import clock, ordering
from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.routers import OWNER_DB
from tickets.automation.models import Notification
from tickets.models import TeamMember, Ticket, TicketEvent

from .models import Alert, AlertRule

RECIPIENTS = ("assignee", "team", "team_leads", "managers")
VIA = ("in_app", "email", "webhook")
LEAD_ROLES = (Membership.Role.MANAGER, Membership.Role.ADMIN)
KEY_PREFIX = "alert:"


def recipient_labels() -> dict[str, str]:
    return {
        "assignee": _("The assignee"),
        "team": _("The ticket's team"),
        "team_leads": _("The team's leads (its managers and administrators)"),
        "managers": _("The help desk's managers"),
    }


def recipients(ticket: Ticket, codes: list[str], users: list[int] | None = None) -> list[User]:
    """Active staff members of this tenant among the recipients the codes name, plus `users`."""
    ids: set[int] = {int(u) for u in users or [] if str(u).isdigit()}
    if "assignee" in codes and ticket.assignee_id:
        ids.add(ticket.assignee_id)
    if ticket.team_id and ("team" in codes or "team_leads" in codes):
        members = TeamMember.objects.filter(team_id=ticket.team_id)
        if "team" not in codes:
            leads = Membership.objects.filter(role__in=LEAD_ROLES, is_active=True)
            members = members.filter(user_id__in=leads.values("user_id"))
        ids |= set(members.values_list("user_id", flat=True))
    if "managers" in codes:
        managers = Membership.objects.filter(role=Membership.Role.MANAGER, is_active=True)
        ids |= set(managers.values_list("user_id", flat=True))
    if not ids:
        return []
    active = Membership.objects.filter(user_id__in=ids, is_active=True).values("user_id")
    return list(User.objects.filter(pk__in=active, is_active=True).order_by("pk"))


# --- Raising -------------------------------------------------------------------------------------


def _rules(event: str) -> list[AlertRule]:
    from tickets.automation.jobs import per_batch

    def load() -> list[AlertRule]:
        return list(AlertRule.objects.filter(is_active=True).order_by("position", "id"))

    every = per_batch(("alert-rules", require_current_tenant().pk), load)
    return [r for r in every if r.event == event]


def _claim(rule: AlertRule, ticket: Ticket, cause: str, now: datetime) -> int | None:
    chained = bool(rule.ack_within_minutes and rule.chain)
    next_step_at = now + timedelta(minutes=rule.ack_within_minutes) if chained else None
    table = Alert._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (tenant_id, rule_id, ticket_id, cause, level, step, '  # noqa: S608 - our table name
            "next_step_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, 1, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [ticket.tenant_id, rule.pk, ticket.pk, cause[:100], rule.level, next_step_at,
             timezone.now(), timezone.now()],
        )  # fmt: skip
        row = cursor.fetchone()
    return row[0] if row else None


def raise_alerts(ticket: Ticket, *, event: str, cause: str, clock_kind: str = "") -> list[Alert]:
    """Every active rule of `event` (and of this clock, if the rule names clocks) raises its
    alert once for this cause and tells its first step."""
    raised: list[Alert] = []
    now = clock.now()
    for rule in _rules(event):
        if rule.clock_kinds and clock_kind and clock_kind not in rule.clock_kinds:
            continue
        if rule.clock_kinds and not clock_kind and event != AlertRule.Event.ESCALATED:
            continue
        alert_id = _claim(rule, ticket, cause, now)
        if alert_id is None:
            continue  # raised before: a re-run
        alert = Alert(pk=alert_id, rule=rule, ticket=ticket, cause=cause, level=rule.level, step=1,
                      tenant_id=ticket.tenant_id)  # fmt: skip
        _deliver(alert, rule, ticket, step=1, codes=rule.recipients, users=rule.users,
                 event=event, clock_kind=clock_kind)  # fmt: skip
        AlertRule.objects.filter(pk=rule.pk).update(
            hits=F("hits") + 1, last_fired_at=timezone.now()
        )
        raised.append(alert)
    return raised


def _subject(event: str, ticket: Ticket, clock_kind: str) -> str:
    from .models import SLATimer

    what = str(SLATimer.Kind(clock_kind).label) if clock_kind in SLATimer.Kind.values else ""
    values = {"n": ticket.number, "subject": ticket.subject, "clock": what}
    if event == AlertRule.Event.SLA_BREACHED:
        return (_("SLA breached (%(clock)s): #%(n)s %(subject)s") if what
                else _("SLA breached: #%(n)s %(subject)s")) % values  # fmt: skip
    if event == AlertRule.Event.SLA_WARNING:
        return (_("SLA at risk (%(clock)s): #%(n)s %(subject)s") if what
                else _("SLA at risk: #%(n)s %(subject)s")) % values  # fmt: skip
    return _("Escalated: #%(n)s %(subject)s") % values


def _deliver(alert: Alert, rule: AlertRule, ticket: Ticket, *, step: int, codes: list[str],
             users: list[int], event: str, clock_kind: str = "") -> int:  # fmt: skip
    """Tell one step's recipients, in the tenant's language; the timeline says so."""
    from tickets import services
    from tickets.automation import notifications
    from tickets.automation.triggers import ticket_url

    people = recipients(ticket, codes, users)
    via = rule.via or ["in_app"]
    tenant = require_current_tenant()
    with translation.override(tenant.default_language or "en"):
        subject = _subject(event, ticket, clock_kind)
        if step > 1:
            subject = _("Not acknowledged: %(subject)s") % {"subject": subject}
        body = _("Alert “%(name)s”.") % {"name": rule.name}
        if rule.ack_within_minutes and step <= len(rule.chain):
            body += " " + ngettext(
                "Acknowledge it within %(n)d minute, or the next people in the chain are told.",
                "Acknowledge it within %(n)d minutes, or the next people in the chain are told.",
                rule.ack_within_minutes,
            ) % {"n": rule.ack_within_minutes}
    count = 0
    if "in_app" in via and people:
        count = notifications.notify(
            recipients=people, title=subject, body=body, level=rule.level, ticket=ticket,
            url=reverse("tickets:detail", kwargs={"number": ticket.number}),
            key=f"{KEY_PREFIX}{alert.pk}:{step}",
        )  # fmt: skip
    if "email" in via and people:
        link = ticket_url(ticket)
        sent = notifications.email(to=[u.email for u in people], subject=subject,
                                   body=f"{body}\n\n{link}", ticket=ticket)  # fmt: skip
        count = max(count, len(sent))
    if "webhook" in via and rule.webhook_url:
        payload = webhook_payload(alert, rule, ticket, step, event)
        notifications.webhook(url=rule.webhook_url, ticket=ticket, payload=payload)
    services.event(
        ticket=ticket, kind="alerted", actor=None, reason=f"alert: {rule.name}"[:300],
        alert=alert.pk, rule=rule.pk, name=rule.name, level=rule.level, step=step,
        people=len(people), via=via, minutes=rule.ack_within_minutes,
    )  # fmt: skip
    return count


def webhook_payload(alert: Alert, rule: AlertRule, ticket: Ticket, step: int, event: str) -> dict:
    from tickets.automation.triggers import ticket_url

    return {
        "event": "alert",
        "alert": {
            "id": alert.pk,
            "rule": rule.name,
            "level": rule.level,
            "step": step,
            "cause": event,
        },  # fmt: skip
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "tier": ticket.tier,
            "url": ticket_url(ticket),
        },  # fmt: skip
    }


# --- Acknowledging -------------------------------------------------------------------------------


def acknowledge(*, alert_id: int, user: User) -> bool:
    """Acknowledge the alert and stop its chain (once). Every notification of the alert counts
    as acknowledged too, so nobody else is asked again."""
    from tickets import services

    now = clock.now()
    done = Alert.objects.filter(pk=alert_id, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=user, next_step_at=None, updated_at=timezone.now()
    )
    if not done:
        return False
    Notification.objects.filter(
        key__startswith=f"{KEY_PREFIX}{alert_id}:", acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now())
    alert = Alert.objects.select_related("rule", "ticket").get(pk=alert_id)
    services.event(ticket=alert.ticket, kind="alert_acknowledged", actor=user,
                   reason=f"alert: {alert.rule.name}"[:300], alert=alert.pk,
                   name=alert.rule.name, step=alert.step)  # fmt: skip
    return True


def alert_id_of(key: str) -> int | None:
    if not key.startswith(KEY_PREFIX):
        return None
    part = key[len(KEY_PREFIX) :].split(":", 1)[0]
    return int(part) if part.isdigit() else None


def notification_acknowledged(*, user: User, notification_id: int) -> bool:
    """The notification centre's "Acknowledge" on one of an alert's notifications."""
    key = (
        Notification.objects.filter(pk=notification_id, recipient=user)
        .values_list("key", flat=True)
        .first()
    )
    alert_id = alert_id_of(key or "")
    return alert_id is not None and acknowledge(alert_id=alert_id, user=user)


# --- The chain: beat -----------------------------------------------------------------------------

_DUE_TENANTS = """
SELECT DISTINCT tenant_id FROM {alerts}
WHERE acknowledged_at IS NULL AND next_step_at IS NOT NULL AND next_step_at <= %(now)s
"""

# A chain whose rule was paused, shortened or lost its deadline stops where it is.
_STOP = """
UPDATE {alerts} AS a SET next_step_at = NULL, updated_at = %(real_now)s
FROM {rules} AS r
WHERE r.id = a.rule_id AND a.tenant_id = %(tenant)s AND a.acknowledged_at IS NULL
  AND a.next_step_at <= %(now)s
  AND (NOT r.is_active OR r.ack_within_minutes IS NULL OR a.step > jsonb_array_length(r.chain))
"""

# Exactly once: the row is claimed by the UPDATE that moves its step on; a second sweep at the
# same moment waits for the row lock, re-reads the row (READ COMMITTED), finds next_step_at
# moved (or NULL) and leaves it out.
_ADVANCE = """
UPDATE {alerts} AS a SET step = a.step + 1, updated_at = %(real_now)s,
    next_step_at = CASE WHEN a.step + 1 <= jsonb_array_length(r.chain)
                        THEN %(now)s + make_interval(mins => r.ack_within_minutes) END
FROM {rules} AS r
WHERE r.id = a.rule_id AND a.tenant_id = %(tenant)s AND a.acknowledged_at IS NULL
  AND a.next_step_at <= %(now)s AND r.is_active AND r.ack_within_minutes IS NOT NULL
  AND a.step <= jsonb_array_length(r.chain)
RETURNING a.id, a.step
"""


def _clock_of(event: str, ref: str) -> str:
    from .models import SLATimer

    if (
        event not in {AlertRule.Event.SLA_WARNING, AlertRule.Event.SLA_BREACHED}
        or not ref.isdigit()
    ):
        return ""
    return SLATimer.objects.filter(pk=int(ref)).values_list("kind", flat=True).first() or ""


def _tables() -> dict[str, str]:
    return {"alerts": Alert._meta.db_table, "rules": AlertRule._meta.db_table}


def sweep(*, now: datetime | None = None, send: bool = True) -> list[int]:
    """Beat: the tenants with a chain step due, read on the owner connection — the explicit
    cross-tenant path (OWNER_DB) — from the partial index of unacknowledged chains. Each
    tenant's steps are claimed and delivered inside that tenant (`advance`): a task per
    tenant, or here and now with `send=False`. A task lost with Redis down loses nothing: the
    steps stay due until a run claims them."""
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Tenant

    at = now or clock.now()
    with connections[OWNER_DB].cursor() as cursor:
        cursor.execute(_DUE_TENANTS.format(**_tables()), {"now": at})
        tenant_ids = sorted(row[0] for row in cursor.fetchall())
    if send:
        from .tasks import advance_alert_chains

        for tenant_id in tenant_ids:
            advance_alert_chains.delay(tenant_id)
    else:
        for tenant in Tenant.objects.filter(pk__in=tenant_ids, is_active=True):
            with tenant_context(tenant):
                advance(now=at)
    return tenant_ids


def advance(*, now: datetime | None = None) -> int:
    """This tenant's due chain steps, in one transaction: claimed by one UPDATE, each told to
    its step's recipients. Returns how many steps were taken."""
    tenant = require_current_tenant()
    params = {"now": now or clock.now(), "real_now": timezone.now(), "tenant": tenant.pk}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_STOP.format(**_tables()), params)
            cursor.execute(_ADVANCE.format(**_tables()), params)
            steps = dict(cursor.fetchall())
        if not steps:
            return 0
        rows = Alert.objects.filter(pk__in=list(steps)).select_related("rule", "ticket")
        for alert in rows.order_by("pk"):
            rule, step = alert.rule, steps[alert.pk]
            codes = rule.chain[step - 2] if 0 <= step - 2 < len(rule.chain) else {}
            event, _sep, ref = alert.cause.partition(":")
            event = {"escalation": AlertRule.Event.ESCALATED}.get(event, event)
            _deliver(alert, rule, alert.ticket, step=step, codes=codes.get("recipients") or [],
                     users=codes.get("users") or [], event=event,
                     clock_kind=_clock_of(event, ref))  # fmt: skip
    return len(steps)


# --- The timeline --------------------------------------------------------------------------------


def timeline_text(event: TicketEvent, who: str) -> str:
    data = event.data or {}
    name = data.get("name", "")
    if event.kind == "alert_acknowledged":
        return _("%(who)s acknowledged the alert “%(name)s”") % {"who": who, "name": name}
    level = dict(Notification.Level.choices).get(data.get("level"), data.get("level", ""))
    people = ngettext("%(n)d person", "%(n)d people", data.get("people") or 0) % {
        "n": data.get("people") or 0
    }
    values = {"name": name, "level": level, "people": people, "step": data.get("step"),
              "minutes": data.get("minutes") or 0}  # fmt: skip
    if (data.get("step") or 1) > 1:
        return (
            _(
                "Nobody acknowledged the alert “%(name)s” in %(minutes)s min: step %(step)s told "
                "%(people)s"
            )
            % values
        )
    return _("Alert “%(name)s” (%(level)s) sent to %(people)s") % values


# --- Settings ------------------------------------------------------------------------------------


def rule_save(*, actor: User, rule: AlertRule | None, **fields) -> AlertRule:
    from .escalation import _save

    if fields.get("event") == AlertRule.Event.ESCALATED:
        fields["clock_kinds"] = fields.get("clock_kinds") or []
    if "webhook" not in (fields.get("via") or []):
        fields["webhook_url"] = ""
    if not fields.get("ack_within_minutes"):
        fields["chain"] = []
    return _save(AlertRule, rule, actor=actor, fields=fields, action="alert_rule")


def rule_set_active(*, rule: AlertRule, actor: User, active: bool) -> None:
    ordering.set_active(rule, actor=actor, active=active, action="alert_rule")


def rule_move(*, rule: AlertRule, actor: User, direction: str) -> bool:
    return ordering.move(rule, actor=actor, direction=direction, action="alert_rule")


def rule_delete(*, rule: AlertRule, actor: User) -> None:
    ordering.delete(rule, actor=actor, action="alert_rule")


def who_text(codes: list[str], users: list[int], people: dict) -> str:
    labels = recipient_labels()
    names = [labels[c] for c in codes if c in labels]
    for user_id in users or []:
        user = people.get(user_id)
        names.append((user.get_full_name() or user.email) if user else _("a former member"))
    return ", ".join(names) or "—"


def rule_when_text(rule: AlertRule) -> str:
    from .models import SLATimer

    text = str(AlertRule.Event(rule.event).label) if rule.event in AlertRule.Event.values else ""
    kinds = [str(SLATimer.Kind(k).label) for k in rule.clock_kinds if k in SLATimer.Kind.values]
    return f"{text} ({', '.join(kinds)})" if kinds else text


def rule_chain_text(rule: AlertRule, people: dict) -> str:
    if not rule.ack_within_minutes or not rule.chain:
        return ""
    steps = [who_text(s.get("recipients") or [], s.get("users") or [], people) for s in rule.chain]
    return ngettext(
        "Not acknowledged in %(n)d minute: %(steps)s",
        "Not acknowledged in %(n)d minutes: %(steps)s",
        rule.ack_within_minutes,
    ) % {"n": rule.ack_within_minutes, "steps": " → ".join(steps)}


def via_text(via: list[str]) -> str:
    labels = {"in_app": _("in the app"), "email": _("email"), "webhook": _("webhook")}
    return ", ".join(labels.get(v, v) for v in via or ["in_app"])
