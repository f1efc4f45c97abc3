"""Writes for contacts (customer 360): profile, identities, and merging duplicates.

Views, the API and ingest come through here. Every function is keyword-only and atomic. A
merge leaves a trace twice: a `requester_merged` TicketEvent on every ticket that moved, and an
AuditEvent in the tenant's log.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.services import audit

from . import search
from .models import (
    Contact,
    ContactIdentity,
    CustomerTier,
    Message,
    Organization,
    Ticket,
    TicketEvent,
)
from .services import TicketError

PROFILE_FIELDS = ("name", "email", "phone", "language", "organization", "tier", "notes")
PHONE_KINDS = {ContactIdentity.Kind.PHONE, ContactIdentity.Kind.WHATSAPP}
_PHONE_JUNK = re.compile(r"[\s\-().]")
BATCH = 500
# (field, attribute) a merge fills on the target when the target's is blank
PROFILE_BLANKS = [(f, f) for f in ("name", "email", "phone", "language")] + [
    ("organization", "organization_id")
]


class ContactError(Exception):
    """A request that breaks a contact rule; the message is shown to the user as is."""


def _label(contact: Contact) -> str:
    return contact.name or contact.email or f"#{contact.pk}"


# --- Profile --------------------------------------------------------------------------------


def _email_owner(email: str, *, exclude: Contact) -> Contact | None:
    """Another live contact reachable at `email` (as primary address or as an identity)."""
    owner = (
        Contact.objects.filter(email__lower=email.lower())
        .exclude(email="")
        .exclude(pk=exclude.pk)
        .first()
    )
    if owner is None:
        identity = (
            ContactIdentity.objects.filter(
                kind=ContactIdentity.Kind.EMAIL, value__lower=email.lower()
            )
            .exclude(contact=exclude)
            .select_related("contact")
            .first()
        )
        owner = identity.contact if identity else None
    return owner


@transaction.atomic
def organization_get_or_create(*, name: str, actor: User | None) -> Organization | None:
    """The organization called `name` (any case), created when there is none; blank is None."""
    name = " ".join(name.split())[:150]
    if not name:
        return None
    organization = Organization.objects.filter(name__iexact=name).first()
    if organization is None:
        organization = Organization.objects.create(name=name)
    return organization


@transaction.atomic
def contact_update(
    *, contact: Contact, actor: User | None, organization_name: str | None = None, **fields
) -> list[str]:
    """Change profile fields (PROFILE_FIELDS); returns the names of the fields that changed.
    `organization_name` picks the organization by name, creating it when none matches.

    A new email address must not belong to anybody else (that is a duplicate: merge instead);
    if it was one of this contact's own identities it becomes the primary address."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ContactError(f"Not editable: {', '.join(sorted(unknown))}")
    if organization_name is not None:
        fields["organization"] = organization_get_or_create(name=organization_name, actor=actor)
    if "name" in fields:
        fields["name"] = " ".join((fields["name"] or "").split())[:150]
        if not fields["name"]:
            raise ContactError(_("A contact needs a name."))
    if "email" in fields:
        fields["email"] = (fields["email"] or "").strip().lower()
    if "tier" in fields and fields["tier"] not in CustomerTier.values:
        raise ContactError(_("Choose a valid tier."))
    changed = [f for f, value in fields.items() if getattr(contact, f) != value]
    if not changed:
        return []
    if "email" in changed and fields["email"]:
        owner = _email_owner(fields["email"], exclude=contact)
        if owner is not None:
            raise ContactError(
                _("%(email)s already belongs to %(name)s: merge the two contacts instead.")
                % {"email": fields["email"], "name": _label(owner)}
            )
        ContactIdentity.objects.filter(
            contact=contact, kind=ContactIdentity.Kind.EMAIL, value__iexact=fields["email"]
        ).delete()
    old_email = contact.email
    for field in changed:
        setattr(contact, field, fields[field])
    contact.save(update_fields=changed)
    if "email" in changed:
        audit(
            actor=actor,
            action="contact.email_changed",
            summary=f"{_label(contact)}: {old_email or '-'} → {contact.email or '-'}"[:300],
            contact=contact.pk,
            old=old_email,
            new=contact.email,
        )
    return changed


# --- Identities -----------------------------------------------------------------------------


def identity_normalise(kind: str, value: str) -> str:
    """The stored form of an identity: emails lower-cased, phone numbers without spacing."""
    value = " ".join((value or "").split())
    if kind == ContactIdentity.Kind.EMAIL:
        value = value.lower()
        try:
            validate_email(value)
        except ValidationError as error:
            raise ContactError(_("Enter a valid email address.")) from error
    elif kind in PHONE_KINDS:
        value = _PHONE_JUNK.sub("", value)
        if not re.fullmatch(r"\+?\d{4,20}", value):
            raise ContactError(_("Enter a phone number: digits, optionally starting with +."))
    if not value:
        raise ContactError(_("Enter a value."))
    if len(value) > 254:
        raise ContactError(_("That is too long (254 characters at most)."))
    return value


@transaction.atomic
def contact_add_identity(
    *, contact: Contact, kind: str, value: str, actor: User | None
) -> ContactIdentity:
    """Add a way to reach the contact. Identities are unique per tenant: one that already
    belongs to someone else is a duplicate person, to be merged rather than shared."""
    if kind not in ContactIdentity.Kind.values:
        raise ContactError(_("Choose a valid kind of identity."))
    if contact.merged_into_id:
        raise ContactError(_("This contact was merged into another one."))
    value = identity_normalise(kind, value)
    existing = (
        ContactIdentity.objects.filter(kind=kind, value__lower=value.lower())
        .select_related("contact")
        .first()
    )
    owner = existing.contact if existing else None
    if owner is None and kind == ContactIdentity.Kind.EMAIL:
        if contact.email.lower() == value:
            raise ContactError(_("%(value)s is already this contact's email address.")
                               % {"value": value})  # fmt: skip
        owner = _email_owner(value, exclude=contact)
    if owner is not None and owner.pk == contact.pk:
        raise ContactError(_("%(value)s is already listed.") % {"value": value})
    if owner is not None:
        raise ContactError(
            _("%(value)s already belongs to %(name)s: merge the two contacts instead.")
            % {"value": value, "name": _label(owner)}
        )
    try:
        with transaction.atomic():
            identity = ContactIdentity.objects.create(contact=contact, kind=kind, value=value)
    except IntegrityError as error:  # a concurrent add of the same identity
        raise ContactError(_("%(value)s is already listed.") % {"value": value}) from error
    audit(
        actor=actor,
        action="contact.identity_added",
        summary=f"{_label(contact)}: {kind} {value}"[:300],
        contact=contact.pk,
        kind=kind,
        value=value,
    )
    return identity


@transaction.atomic
def contact_remove_identity(*, identity: ContactIdentity, actor: User | None) -> None:
    contact = identity.contact
    audit(
        actor=actor,
        action="contact.identity_removed",
        summary=f"{_label(contact)}: {identity.kind} {identity.value}"[:300],
        contact=contact.pk,
        kind=identity.kind,
        value=identity.value,
    )
    identity.delete()


# --- Merge duplicates -----------------------------------------------------------------------


def _batched(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _higher_tier(*tiers: str) -> str:
    order = [CustomerTier.STANDARD, CustomerTier.PREMIUM, CustomerTier.VIP]
    return max(tiers, key=lambda t: order.index(t) if t in order else 0)


def _absorb_profile(source: Contact, target: Contact) -> list[str]:
    """Fill the target's blanks from the source; keep the higher tier; append the notes."""
    changed = []
    for field, attname in PROFILE_BLANKS:
        if not getattr(target, attname) and getattr(source, attname):
            setattr(target, attname, getattr(source, attname))
            changed.append(field)
    tier = _higher_tier(target.tier, source.tier)
    if tier != target.tier:
        target.tier = tier
        changed.append("tier")
    if source.notes.strip():
        heading = _("Notes from %(name)s (merged):") % {"name": _label(source)}
        target.notes = f"{target.notes.rstrip()}\n\n{heading}\n{source.notes.strip()}".strip()
        changed.append("notes")
    return changed


def _identities_from(source: Contact, target: Contact) -> list[ContactIdentity]:
    """The source's email address and phone number, as identities of the target."""
    wanted = []
    if source.email and source.email.lower() != target.email.lower():
        wanted.append((ContactIdentity.Kind.EMAIL, source.email.lower()))
    if source.phone and source.phone != target.phone:
        try:
            wanted.append(
                (ContactIdentity.Kind.PHONE,
                 identity_normalise(ContactIdentity.Kind.PHONE, source.phone))
            )  # fmt: skip
        except ContactError:
            wanted.append((ContactIdentity.Kind.PHONE, source.phone.strip()[:254]))
    return [ContactIdentity(contact=target, kind=kind, value=value) for kind, value in wanted]


def _retitle(ticket_ids: list[int], target: Contact, source_email: str) -> None:
    """Ticket search titles carry the requester's name and address: write the new ones (the
    old address stays searchable: it is the same person)."""
    emails = " ".join(e for e in (target.email, source_email) if e)
    for batch in _batched(ticket_ids):
        rows = list(Ticket.objects.filter(pk__in=batch).only("pk", "number", "subject"))
        for ticket in rows:
            ticket.search_title = search.ticket_title_text(
                number=ticket.number,
                subject=ticket.subject,
                requester_name=target.name,
                requester_email=emails,
            )
        Ticket.objects.bulk_update(rows, ["search_title"])


@transaction.atomic
def contact_merge(*, source: Contact, target: Contact, actor: User | None) -> Contact:
    """Fold the duplicate `source` into `target`: its tickets, messages and identities move
    over, its email address and phone number become identities, its blanks are filled and its
    notes kept; it is then marked merged into the target and leaves every list.

    A person keeps one portal login: it moves over when only the source has one; when both
    have one the merge is refused."""
    if source.pk == target.pk:
        raise ContactError(_("A contact cannot be merged into itself."))
    # Lock both rows in a fixed order so two merges of the same pair cannot interleave.
    locked = {
        c.pk: c
        for c in Contact.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ContactError(_("That contact no longer exists."))
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id:
        raise ContactError(_("%(name)s was already merged into another contact.")
                           % {"name": _label(source)})  # fmt: skip
    if target.merged_into_id:
        raise ContactError(_("%(name)s was itself merged into another contact.")
                           % {"name": _label(target)})  # fmt: skip
    if source.user_id and target.user_id:
        raise ContactError(
            _("Both contacts have a portal login (%(a)s and %(b)s). A person keeps one login, "
              "so these cannot be merged; ask the customer which one to keep.")
            % {"a": source.user.email, "b": target.user.email}
        )  # fmt: skip

    before = copy.copy(source)  # the source as it was, for the profile and the trace
    snapshot = {"id": source.pk, "name": source.name, "email": source.email}
    ticket_ids = list(
        Ticket.objects.filter(requester=source).order_by("pk").values_list("pk", flat=True)
    )

    # The source gives up everything unique (address, login) before the target takes it.
    source.merged_into = target
    source.email, source.phone, source.user = "", "", None
    source.save(update_fields=["merged_into", "email", "phone", "user"])
    changed = _absorb_profile(before, target)
    if before.user_id:
        target.user_id = before.user_id
        changed.append("user")
    if changed:
        target.save(update_fields=changed)
    new_identities = _identities_from(before, target)

    now = timezone.now()
    for batch in _batched(ticket_ids):
        Ticket.objects.filter(pk__in=batch).update(requester=target, updated_at=now)
        if target.organization_id:
            Ticket.objects.filter(pk__in=batch, organization__isnull=True).update(
                organization_id=target.organization_id
            )
        TicketEvent.objects.bulk_create(
            [
                TicketEvent(
                    ticket_id=pk,
                    actor=actor,
                    kind="requester_merged",
                    data={"from": snapshot, "to": {"id": target.pk, "name": target.name}},
                )
                for pk in batch
            ]
        )
    messages = Message.objects.filter(author_contact=source).update(author_contact=target)
    identities = ContactIdentity.objects.filter(contact=source).update(contact=target)
    ContactIdentity.objects.bulk_create(new_identities, ignore_conflicts=True)
    # Contacts merged into the source earlier now point straight at the target.
    Contact.objects.filter(merged_into=source).update(merged_into=target)
    _retitle(ticket_ids, target, before.email)

    audit(
        actor=actor,
        action="contact.merged",
        summary=f"{_label(before)} merged into {_label(target)}"[:300],
        source=snapshot,
        target=target.pk,
        tickets=len(ticket_ids),
        messages=messages,
        identities=identities + len(new_identities),
        portal_login_moved=bool(before.user_id),
    )
    return target


# --- Find or create by address (the API, the agents' new-ticket form, ingest) ---------------


class ContactExistsError(TicketError):
    def __init__(self, contact: Contact):
        self.contact = contact
        super().__init__(_("A contact with this email address already exists."))


def _contact_by_email(email: str, *, fold_case: bool = False) -> Contact | None:
    """The live contact at `email`, as primary address or identity. Addresses are stored
    lower-cased, so this is an exact match: an index lookup even under row-level security,
    where LOWER(email) (not leakproof) would scan every contact of the tenant. `fold_case`
    also finds an address stored in another case (the rare conflict path)."""
    email = email.strip().lower()
    if fold_case:
        match = Q(email__lower=email) | Q(
            identities__kind=ContactIdentity.Kind.EMAIL, identities__value__lower=email
        )
    else:
        match = Q(email=email) | Q(
            identities__kind=ContactIdentity.Kind.EMAIL, identities__value=email
        )
    contact = Contact.objects.filter(match).select_related("merged_into").order_by("pk").first()
    for _hop in range(5):  # a merged contact stands for the one it was merged into
        if contact is None or not contact.merged_into_id:
            break
        contact = contact.merged_into
    return contact


def contact_create(
    *, name: str, email: str = "", phone: str = "", language: str = "", notes: str = ""
) -> Contact:
    """A new customer; an email address already known here raises ContactExistsError."""
    email = email.strip().lower()
    existing = _contact_by_email(email) if email else None
    if existing is not None:
        raise ContactExistsError(existing)
    contact, existing = _insert_contact(name=name, email=email, phone=phone, language=language,
                                        notes=notes)  # fmt: skip
    if existing is not None:
        raise ContactExistsError(existing)
    return contact


def contact_for_email(*, email: str, name: str = "") -> Contact:
    """The customer with this address (primary or one of their identities), or a new one.
    One indexed lookup when they are known (the common case for inbound mail)."""
    email = email.strip().lower()
    existing = _contact_by_email(email)
    if existing is not None:
        return existing
    contact, existing = _insert_contact(name=name, email=email)
    return existing or contact


def _insert_contact(
    *, name: str, email: str, phone: str = "", language: str = "", notes: str = ""
) -> tuple[Contact | None, Contact | None]:
    """(the new contact, None), or (None, the one that got there first): a concurrent request
    or an address stored in another case hits the unique index, inside a savepoint."""
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                name=name.strip() or email, email=email, phone=phone.strip(),
                language=language, notes=notes.strip(),
            )  # fmt: skip
    except IntegrityError:
        return None, _contact_by_email(email, fold_case=True)
    return contact, None
