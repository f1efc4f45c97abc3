"""Writes for tickets. Views, tasks, the API, ingest and commands all come through here.

Every function is keyword-only, runs in one transaction, leaves a TicketEvent saying who did
what (and why, for automatic decisions), and sends side effects (mail, routing) on commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.tasks import enqueue_on_commit
from sla import timers as sla_timers

from . import search, selectors
from .attachments import attachment_store
from .automation import jobs
from .models import (
    Contact,
    Message,
    SavedView,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketLink,
    TicketRead,
    TicketTag,
)
from .sanitize import clean_html, html_to_text, text_to_html


class TicketError(Exception):
    """A request that breaks a ticket rule; the message is shown to the user as is."""


class ConflictError(TicketError):
    """Someone else changed the ticket since the form was loaded."""

    def __init__(self, ticket: Ticket, fields: Sequence[str]):
        self.ticket = ticket
        self.fields = list(fields)
        super().__init__(
            _("Someone else changed this ticket while you were editing it. Review and retry.")
        )


EDITABLE_FIELDS = (
    "status",
    "priority",
    "type",
    "category",
    "assignee",
    "team",
    "language",
    "custom_fields",
)
EMAIL_CHANNELS = {Ticket.Channel.EMAIL, Ticket.Channel.WEB, Ticket.Channel.PORTAL}
# Replies on these go back through the messaging app they came from (channels_in.messaging).
MESSAGING_CHANNELS = {Ticket.Channel.WECHAT, Ticket.Channel.WECHAT_KF, Ticket.Channel.WECOM,
                      Ticket.Channel.DINGTALK, Ticket.Channel.FEISHU, Ticket.Channel.WHATSAPP,
                      Ticket.Channel.TELEGRAM, Ticket.Channel.MESSENGER}  # fmt: skip


def event(
    *, ticket: Ticket, kind: str, actor: User | None, reason: str = "", **data
) -> TicketEvent:
    _counts_changed_on_commit(ticket.tenant_id)
    made = TicketEvent(ticket=ticket, kind=kind, actor=actor, reason=reason[:300], data=data)
    buffer = _event_buffer.get()
    if buffer is not None:  # inside buffered_events(): written together at the end
        buffer.append(made)
        return made
    made.save()
    return made


_event_buffer: ContextVar[list[TicketEvent] | None] = ContextVar("event_buffer", default=None)
_update_buffer: ContextVar[dict[int, dict] | None] = ContextVar("update_buffer", default=None)
_tag_links: ContextVar[list[TicketTag] | None] = ContextVar("tag_links", default=None)
_tag_cache: ContextVar[dict[str, Tag] | None] = ContextVar("tag_cache", default=None)


@contextmanager
def buffered_events() -> Iterator[list[TicketEvent]]:
    """Collect the events recorded inside, and the ticket field changes made through
    `_apply_changes`, and write them on the way out: the events with one multi-row INSERT, each
    ticket's changes with one UPDATE (automation changes a new ticket three or four times —
    classification, routing, assignment — and every UPDATE of an indexed column rewrites all
    of the ticket's index entries, full-text and trigram included). The in-memory tickets are
    current throughout; the rows are current on the way out. Nested use joins the outer
    buffer. The events have no id until then."""
    if _event_buffer.get() is not None:
        yield _event_buffer.get()
        return
    buffer: list[TicketEvent] = []
    updates: dict[int, dict] = {}
    links: list[TicketTag] = []
    tokens = (_event_buffer.set(buffer), _update_buffer.set(updates), _tag_links.set(links),
              _tag_cache.set({}))  # fmt: skip
    try:
        yield buffer
    finally:
        for var, token in zip((_event_buffer, _update_buffer, _tag_links, _tag_cache), tokens,
                              strict=True):  # fmt: skip
            var.reset(token)
    if links:
        try:
            TicketTag.objects.bulk_create(links, ignore_conflicts=True)
        except IntegrityError:  # a tag remembered by this process was deleted meanwhile
            _known_tags.clear()
            raise
    _write_buffered_updates(updates)
    if buffer:
        TicketEvent.objects.bulk_create(buffer)


def _write_buffered_updates(updates: dict[int, dict]) -> None:
    """Each ticket's buffered changes; tickets changing the same set of fields share ONE
    UPDATE … FROM (VALUES …) (a batch of 25 routed tickets is a handful of statements, not
    25; Django's bulk_update would build a CASE per field and row, which costs more Python
    than the round trips it saves)."""
    groups: dict[tuple[str, ...], list[tuple[int, dict, int]]] = {}
    for ticket_id, fields in updates.items():
        bumps = fields.pop("version", 0)
        groups.setdefault(tuple(sorted(fields)), []).append((ticket_id, fields, bumps))
    for names, rows in groups.items():
        plain = all(not hasattr(v, "resolve_expression") for _, f, _ in rows for v in f.values())
        if len(rows) == 1 or not plain:
            for ticket_id, fields, bumps in rows:
                extra = {"version": F("version") + bumps} if bumps else {}
                Ticket.objects.filter(pk=ticket_id).update(**fields, **extra)
            continue
        _update_from_values(names, rows)


def _update_from_values(names: tuple[str, ...], rows: list[tuple[int, dict, int]]) -> None:
    fields = [Ticket._meta.get_field(name) for name in names]
    types = [field.db_type(connection) for field in fields]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    row_sql = "(%s::bigint, " + "".join(f"%s::{t}, " for t in types) + "%s::integer)"
    params: list = []
    for ticket_id, values, bumps in rows:
        params.append(ticket_id)
        for field in fields:
            value = values[field.name]
            if field.is_relation:
                value = getattr(value, "pk", value)
            params.append(field.get_db_prep_save(value, connection))
        params.append(bumps)
    assignments = ", ".join(f'"{f.column}" = v."{f.column}"' for f in fields)
    table = Ticket._meta.db_table
    sql = (
        f'UPDATE "{table}" AS t SET {assignments}, "version" = t."version" + v."_bumps" '  # noqa: S608 - our own table and columns
        f'FROM (VALUES {", ".join([row_sql] * len(rows))}) AS v("_id", {columns}, "_bumps") '
        f'WHERE t."id" = v."_id" AND t."tenant_id" = %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, require_current_tenant().pk])


def _write_ticket(ticket: Ticket, fields: dict, *, bump: bool) -> None:
    """UPDATE the ticket now, or merge into the buffered UPDATE inside buffered_events()."""
    updates = _update_buffer.get()
    if updates is None:
        if bump:
            fields = {**fields, "version": F("version") + 1}
        Ticket.objects.filter(pk=ticket.pk).update(**fields)
        return
    pending = updates.setdefault(ticket.pk, {})
    bumps = pending.pop("version", 0) + (1 if bump else 0)
    pending.update(fields)
    if bumps:
        pending["version"] = bumps


def _counts_changed_on_commit(tenant_id: int) -> None:
    """Drop the tenant's cached inbox counts once this transaction commits; once per
    transaction however many events it records (a bulk action records hundreds)."""
    key = ("inbox-counts", tenant_id)
    pending = transaction.get_connection().run_on_commit
    if any(getattr(callback, "once_key", None) == key for _, callback, _ in pending):
        return

    def callback() -> None:
        selectors.counts_changed(tenant_id)

    callback.once_key = key  # type: ignore[attr-defined]
    callback.cache_only = True  # type: ignore[attr-defined] - tests count the task callbacks
    transaction.on_commit(callback)


def next_ticket_number() -> int:
    tenant_id = require_current_tenant().pk
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_ticketcounter (tenant_id, last_number) VALUES (%s, 1) "
            "ON CONFLICT (tenant_id) DO UPDATE "
            "SET last_number = tickets_ticketcounter.last_number + 1 RETURNING last_number",
            [tenant_id],
        )
        return cursor.fetchone()[0]


def _bodies(body_text: str, body_html: str) -> tuple[str, str]:
    if body_html:
        clean = clean_html(body_html)
        return (body_text or html_to_text(clean)).strip(), clean
    return body_text.strip(), text_to_html(body_text)


def _snippet(text: str) -> str:
    return " ".join(text.split())[:200]


def _refresh_title(ticket: Ticket) -> None:
    requester = ticket.requester
    Ticket.objects.filter(pk=ticket.pk).update(
        search_title=search.ticket_title_text(
            number=ticket.number,
            subject=ticket.subject,
            requester_name=requester.name,
            requester_email=requester.email,
        )
    )


@transaction.atomic
def ticket_create(
    *,
    requester: Contact,
    subject: str,
    body_text: str = "",
    body_html: str = "",
    channel: str = Ticket.Channel.WEB,
    actor: User | None = None,
    priority: str = Ticket.Priority.NORMAL,
    type: str = Ticket.Type.QUESTION,  # noqa: A002 - the domain's word
    category: str = Ticket.Category.INQUIRY,
    team: Team | None = None,
    assignee: User | None = None,
    tags: Iterable[str] = (),
    language: str = "",
    attachments: Sequence[UploadedFile] = (),
    external_id: str = "",
    created_by_agent: bool = False,
    automation: dict | None = None,
) -> Ticket:
    """Open a ticket with its first message (from the requester, or by an agent on their
    behalf when `created_by_agent`). Automation (routing, auto-reply, triggers) runs once this
    commits; `automation` tells it about the message (e.g. {"automatic": True, "mailbox": 3})."""
    text, markup = _bodies(body_text, body_html)
    subject = " ".join(subject.split())[:250] or _snippet(text)[:80] or _("(no subject)")
    now = timezone.now()
    number = next_ticket_number()
    ticket = Ticket.objects.create(
        number=number,
        subject=subject,
        requester=requester,
        organization_id=requester.organization_id,
        channel=channel,
        priority=priority,
        type=type,
        category=category,
        team=team,
        tier=team.tier if team else 1,
        assignee=assignee,
        language=language or requester.language,
        snippet=_snippet(text),
        last_activity_at=now,
        status=Ticket.Status.OPEN if assignee else Ticket.Status.NEW,
        # Segmented once, written with the row (not by two UPDATEs afterwards).
        search_title=search.ticket_title_text(
            number=number, subject=subject, requester_name=requester.name,
            requester_email=requester.email,
        ),
        search_body=search.segment(text)[: search.MAX_BODY_CHARS],
    )  # fmt: skip
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.REPLY,
        direction=Message.Direction.OUT if created_by_agent else Message.Direction.IN,
        author_user=actor if created_by_agent else None,
        author_contact=None if created_by_agent else requester,
        channel=channel,
        body_text=text,
        body_html=markup,
        external_id=external_id[:500],
    )
    for upload in attachments:
        attachment_store(message=message, upload=upload)
    if tags:
        _add_tags(ticket, tags)
    event(ticket=ticket, kind="created", actor=actor, channel=channel)
    ticket.first_message = message  # type: ignore[attr-defined] - for callers (ingest)
    jobs.enqueue(ticket, "created", message=message, **(automation or {}))
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User | None,
    body_text: str = "",
    body_html: str = "",
    attachments: Sequence[UploadedFile] = (),
    set_status: str | None = None,
) -> Message:
    """An agent's public reply: stored now, delivered through the ticket's channel on commit.
    With `author=None` it is the help desk's own reply (a trigger's `send_reply`): not a first
    response, and it starts no automation run of its own (the trigger loop guard)."""
    text, markup = _bodies(body_text, body_html)
    if not text and not attachments:
        raise TicketError(_("Write a reply before sending it."))
    deliver = (ticket.channel in EMAIL_CHANNELS and bool(ticket.requester.email)) or (
        ticket.channel in MESSAGING_CHANNELS
    )
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.REPLY,
        direction=Message.Direction.OUT,
        author_user=author,
        channel=ticket.channel,
        body_text=text,
        body_html=markup,
        delivery_status=Message.Delivery.PENDING if deliver else Message.Delivery.NONE,
        delivery_changed_at=timezone.now() if deliver else None,
    )
    for upload in attachments:
        attachment_store(message=message, upload=upload)
    now = timezone.now()
    changes: dict = {"last_activity_at": now, "snippet": _snippet(text)}
    if ticket.first_response_at is None and author is not None:
        changes["first_response_at"] = now
    Ticket.objects.filter(pk=ticket.pk).update(**changes)
    for field, value in changes.items():
        setattr(ticket, field, value)
    event(ticket=ticket, kind="replied", actor=author, message_id=message.pk)
    if author is not None:
        sla_timers.agent_replied(ticket)
    new_status = set_status or (Ticket.Status.OPEN if ticket.status == Ticket.Status.NEW else None)
    if new_status and new_status != ticket.status:
        _apply_changes(ticket, {"status": new_status}, actor=author, reason="")
    search.append_body(ticket.pk, text)
    if author is not None:
        jobs.enqueue(ticket, "agent_replied", message=message)
    if deliver:
        from .tasks import deliver_message

        enqueue_on_commit(deliver_message, message_id=message.pk)
    return message


@transaction.atomic
def ticket_add_note(
    *,
    ticket: Ticket,
    author: User | None,
    body_text: str,
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    """An internal note: visible to staff only, never sent anywhere."""
    text, markup = _bodies(body_text, "")
    if not text and not attachments:
        raise TicketError(_("Write a note before saving it."))
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.NOTE,
        direction=Message.Direction.OUT,
        author_user=author,
        channel=ticket.channel,
        body_text=text,
        body_html=markup,
    )
    for upload in attachments:
        attachment_store(message=message, upload=upload)
    Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=timezone.now())
    event(ticket=ticket, kind="noted", actor=author, message_id=message.pk)
    search.append_body(ticket.pk, text)
    return message


@transaction.atomic
def ticket_add_inbound(
    *,
    ticket: Ticket,
    contact: Contact,
    body_text: str = "",
    body_html: str = "",
    channel: str | None = None,
    external_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    attachments: Sequence[UploadedFile] = (),
    reopen_closed: bool = False,
    reason: str = "customer replied",
    automation: dict | None = None,
) -> Message:
    """A customer's message on an existing ticket; a solved or pending ticket reopens (a
    closed one too with `reopen_closed`; channels_in decides that per tenant setting)."""
    text, markup = _bodies(body_text, body_html)
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.REPLY,
        direction=Message.Direction.IN,
        author_contact=contact,
        channel=channel or ticket.channel,
        body_text=text,
        body_html=markup,
        external_id=external_id[:500],
        in_reply_to=in_reply_to[:500],
        references=references,
    )
    for upload in attachments:
        attachment_store(message=message, upload=upload)
    Ticket.objects.filter(pk=ticket.pk).update(
        last_activity_at=timezone.now(), snippet=_snippet(text)
    )
    event(ticket=ticket, kind="customer_replied", actor=None, message_id=message.pk)
    reopen = {Ticket.Status.PENDING, Ticket.Status.SOLVED}
    if reopen_closed:
        reopen.add(Ticket.Status.CLOSED)
    if ticket.status in reopen:
        _apply_changes(ticket, {"status": Ticket.Status.OPEN}, actor=None, reason=reason)
    sla_timers.customer_replied(ticket)
    search.append_body(ticket.pk, text)
    jobs.enqueue(ticket, "customer_replied", message=message, **(automation or {}))
    return message


def _display(value) -> str | int | None:
    if value is None:
        return None
    return getattr(value, "pk", value)


def _apply_changes(
    ticket: Ticket,
    changes: dict,
    *,
    actor: User | None,
    reason: str,
    quiet: dict | None = None,
) -> list[str]:
    """Write changed fields, bump the version and log one event per field. `quiet` fields
    (bookkeeping such as the queue flag) are written in the same UPDATE without an event."""
    changed = [f for f, v in changes.items() if getattr(ticket, f) != v]
    quiet = {f: v for f, v in (quiet or {}).items() if getattr(ticket, f) != v}
    if not changed:
        if quiet:
            _write_ticket(ticket, quiet, bump=False)
            for field, value in quiet.items():
                setattr(ticket, field, value)
        return []
    update: dict = {**quiet, **{f: changes[f] for f in changed}}
    if "team" in update:
        update["tier"] = update["team"].tier if update["team"] else ticket.tier
    if update.get("status") == Ticket.Status.SOLVED:
        update["solved_at"] = timezone.now()
    elif "status" in update and ticket.status == Ticket.Status.SOLVED:
        update["solved_at"] = None
    update["updated_at"] = timezone.now()
    _write_ticket(ticket, update, bump=True)
    old = {field: getattr(ticket, field) for field in changed}
    for field in changed:
        event(
            ticket=ticket,
            kind=field,
            actor=actor,
            reason=reason,
            old=_display(getattr(ticket, field)),
            new=_display(changes[field]),
        )
        setattr(ticket, field, changes[field])
    for field in ("tier", "solved_at", *quiet):
        if field in update:
            setattr(ticket, field, update[field])
    ticket.version += 1
    sla_timers.ticket_changed(ticket, old=old, changed=changed, reason=reason)
    return changed


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: User | None,
    version: int | None = None,
    reason: str = "",
    **changes,
) -> list[str]:
    """Change properties. With `version` (what the editor saw), an edit made on a stale copy
    raises ConflictError instead of silently overwriting someone else's change."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TicketError(f"Not editable: {', '.join(sorted(unknown))}")
    current = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("requester__organization")
        .get(pk=ticket.pk)
    )
    if version is not None and current.version != version:
        theirs = [f for f in changes if getattr(current, f) != getattr(ticket, f)]
        raise ConflictError(current, theirs or list(changes))
    if changes.get("status") == Ticket.Status.CLOSED and current.status != Ticket.Status.SOLVED:
        raise TicketError(_("Solve a ticket before closing it."))
    changed = _apply_changes(current, changes, actor=actor, reason=reason)
    for field in [*changed, "version", "tier", "solved_at"]:
        setattr(ticket, field, getattr(current, field))
    if changed:
        jobs.enqueue(current, "updated", fields=changed, by=getattr(actor, "pk", None))
    return changed


# Tags this process has read, per (tenant, name): automation tags tickets with the same few
# names all day. Only rows read from the database go in (never one created in a transaction
# that may roll back); a tag deleted meanwhile makes the link INSERT fail, which clears it.
_known_tags: dict[tuple[int, str], Tag] = {}
KNOWN_TAGS_MAX = 20_000


def _tags(names: Iterable[str]) -> list[Tag]:
    wanted = {n.strip().lower()[:50] for n in names if n and n.strip()}
    known = _tag_cache.get()
    if known is not None and wanted <= known.keys():  # inside buffered_events(): seen already
        return [known[name] for name in sorted(wanted)]
    tenant_id = require_current_tenant().pk
    found = {name: _known_tags[(tenant_id, name)] for name in wanted
             if (tenant_id, name) in _known_tags} if known is not None else {}  # fmt: skip
    missing = wanted - found.keys()
    if missing:
        read = {t.name.lower(): t for t in Tag.objects.filter(name__in=missing)}
        if known is not None:
            if len(_known_tags) > KNOWN_TAGS_MAX:
                _known_tags.clear()
            _known_tags.update({(tenant_id, name): tag for name, tag in read.items()})
        found.update(read)
    tags = [found.get(name) or Tag.objects.create(name=name) for name in sorted(wanted)]
    if known is not None:
        known.update({t.name.lower(): t for t in tags})
    return tags


def _add_tags(ticket: Ticket, names: Iterable[str]) -> list[str]:
    tags = _tags(names)
    links = [TicketTag(ticket=ticket, tag=tag) for tag in tags]
    pending = _tag_links.get()
    if pending is not None:  # inside buffered_events(): one INSERT for the batch
        pending.extend(links)
    else:
        TicketTag.objects.bulk_create(links, ignore_conflicts=True)
    return [t.name for t in tags]


@transaction.atomic
def ticket_set_tags(*, ticket: Ticket, names: Iterable[str], actor: User | None) -> list[str]:
    wanted = {t.pk: t for t in _tags(names)}
    current = set(TicketTag.objects.filter(ticket=ticket).values_list("tag_id", flat=True))
    added = [wanted[pk].name for pk in wanted.keys() - current]
    removed = list(
        Tag.objects.filter(pk__in=current - wanted.keys()).values_list("name", flat=True)
    )
    TicketTag.objects.filter(ticket=ticket, tag_id__in=current - wanted.keys()).delete()
    TicketTag.objects.bulk_create(
        [TicketTag(ticket=ticket, tag=wanted[pk]) for pk in wanted.keys() - current],
        ignore_conflicts=True,
    )
    if added or removed:
        event(ticket=ticket, kind="tags", actor=actor, added=sorted(added), removed=sorted(removed))
        Ticket.objects.filter(pk=ticket.pk).update(version=F("version") + 1)
        if actor is not None:  # an agent's edit, single or bulk: "updated" triggers see it
            jobs.enqueue(ticket, "updated", fields=["tags"], by=actor.pk)
    return sorted(t.name for t in wanted.values())


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: User) -> Ticket:
    """Fold `source` into `target`: its messages move over, it is closed and points there."""
    if source.pk == target.pk:
        raise TicketError(_("A ticket cannot be merged into itself."))
    if target.merged_into_id:
        raise TicketError(_("The target ticket was itself merged; merge into #%(n)s instead.")
                          % {"n": target.merged_into.number})  # fmt: skip
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    TicketTag.objects.bulk_create(
        [TicketTag(ticket=target, tag_id=t) for t in
         TicketTag.objects.filter(ticket=source).values_list("tag_id", flat=True)],
        ignore_conflicts=True,
    )  # fmt: skip
    Ticket.objects.filter(pk=source.pk).update(
        merged_into=target, status=Ticket.Status.CLOSED, version=F("version") + 1
    )
    Ticket.objects.filter(pk=target.pk).update(
        last_activity_at=timezone.now(), version=F("version") + 1
    )
    search.append_body(target.pk, source.search_body, segmented=True)
    event(ticket=source, kind="merged_into", actor=actor, target=target.number)
    event(ticket=target, kind="merged_from", actor=actor, source=source.number, messages=moved)
    source.merged_into, source.status = target, Ticket.Status.CLOSED
    return target


@transaction.atomic
def message_split(*, message: Message, actor: User, subject: str = "") -> Ticket:
    """Move one customer message into a new ticket of its own."""
    if message.is_note:
        raise TicketError(_("Only a customer's message can be split off."))
    old = message.ticket
    requester = message.author_contact or old.requester
    ticket = Ticket.objects.create(
        number=next_ticket_number(),
        subject=subject or old.subject,
        requester=requester,
        organization_id=requester.organization_id,
        channel=message.channel,
        priority=old.priority,
        language=old.language,
        snippet=_snippet(message.body_text),
    )
    Message.objects.filter(pk=message.pk).update(ticket=ticket)
    event(ticket=ticket, kind="split_from", actor=actor, source=old.number)
    event(ticket=old, kind="split_to", actor=actor, target=ticket.number)
    _refresh_title(ticket)
    search.append_body(ticket.pk, message.body_text)
    return ticket


@transaction.atomic
def ticket_link(*, ticket: Ticket, other: Ticket, actor: User) -> None:
    if ticket.pk == other.pk:
        raise TicketError(_("A ticket cannot be linked to itself."))
    TicketLink.objects.bulk_create(
        [TicketLink(ticket=ticket, other=other), TicketLink(ticket=other, other=ticket)],
        ignore_conflicts=True,
    )
    event(ticket=ticket, kind="linked", actor=actor, other=other.number)
    event(ticket=other, kind="linked", actor=actor, other=ticket.number)


def ticket_follow(*, ticket: Ticket, user: User, follow: bool = True) -> None:
    if follow:
        TicketFollower.objects.get_or_create(ticket=ticket, user=user)
    else:
        TicketFollower.objects.filter(ticket=ticket, user=user).delete()


def ticket_mark_read(*, ticket: Ticket, user: User) -> None:
    """One upsert: opening a ticket is on the hot path."""
    TicketRead.objects.bulk_create(
        [TicketRead(ticket=ticket, user=user, read_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["tenant", "user", "ticket"],
        update_fields=["read_at"],
    )


@dataclass
class BulkResult:
    updated: int
    skipped: list[int]


@transaction.atomic
def tickets_bulk_update(
    *, tickets: Sequence[Ticket], actor: User, tags: Iterable[str] = (), **changes
) -> BulkResult:
    """Apply the same change to many tickets, each with its own events."""
    skipped, updated = [], 0
    names = list(tags)
    for ticket in tickets:
        try:
            changed = ticket_update(ticket=ticket, actor=actor, reason="bulk", **changes)
        except TicketError:
            skipped.append(ticket.number)
            continue
        if names:
            before = set(
                TicketTag.objects.filter(ticket=ticket).values_list("tag__name", flat=True)
            )
            ticket_set_tags(ticket=ticket, names=before | set(names), actor=actor)
        updated += bool(changed) or bool(names)
    return BulkResult(updated=updated, skipped=skipped)


@transaction.atomic
def tickets_bulk_merge(*, tickets: Sequence[Ticket], target: Ticket, actor: User) -> int:
    count = 0
    for ticket in tickets:
        if ticket.pk != target.pk:
            ticket_merge(source=ticket, target=target, actor=actor)
            count += 1
    return count


def _is_lead(user: User) -> bool:
    return Membership.objects.filter(
        user=user, is_active=True, role__in=(Membership.Role.ADMIN, Membership.Role.MANAGER)
    ).exists()


@transaction.atomic
def saved_view_create(*, actor: User, name: str, filters: dict, shared: bool = False) -> SavedView:
    """Save inbox filters under a name: personal to `actor`, or shared with everyone (only
    administrators and managers may share)."""
    name = " ".join(name.split())[:80]
    if not name:
        raise TicketError(_("Give the view a name."))
    if shared and not _is_lead(actor):
        raise PermissionDenied(_("Only administrators and managers can share a view."))
    owner = None if shared else actor
    return SavedView.objects.create(name=name, owner=owner, filters=dict(filters))


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: User) -> None:
    """Owners delete their personal views; administrators and managers delete shared ones."""
    allowed = view.owner_id == actor.pk if view.owner_id else _is_lead(actor)
    if not allowed:
        raise PermissionDenied(_("You cannot delete this view."))
    view.delete()
