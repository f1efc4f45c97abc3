"""Request and response shapes of the tickets and contacts API (tickets/api.py).

Choice fields use the models' TextChoices, so a wrong value is a 422 naming the allowed ones
and the OpenAPI schema lists them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator, model_validator

from helpdesk.accounts.models import User

from .models import Contact, ContactIdentity, CustomerTier, Message, Ticket

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}
MAX_TAGS = 20


def _email(value: str) -> str:
    value = value.strip().lower()
    if value:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValueError("not a valid email address") from exc
    return value


def _language(value: str) -> str:
    if value and value not in LANGUAGE_CODES:
        raise ValueError(f"one of {', '.join(sorted(LANGUAGE_CODES))} (or empty)")
    return value


def _tags(values: list[str]) -> list[str]:
    if len(values) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    if any(len(v.strip()) > 50 for v in values):
        raise ValueError("a tag has at most 50 characters")
    return [v.strip() for v in values if v.strip()]


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Language = Annotated[str, AfterValidator(_language)]
Tags = Annotated[list[str], AfterValidator(_tags)]


# --- Errors ----------------------------------------------------------------------------------


class ErrorOut(Schema):
    error: str


class ValidationErrorOut(ErrorOut):
    details: list[dict[str, Any]]


class FilterErrorOut(ErrorOut):
    invalid: list[str] = Field(description="The parameters or values that were not understood.")


class TicketStateOut(Schema):
    """A ticket's editable properties as they are now (sent with a 409)."""

    status: str
    priority: str
    type: str
    category: str
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    version: int


class ConflictOut(ErrorOut):
    fields: list[str]
    current: TicketStateOut


class DuplicateOut(ErrorOut):
    id: int


# --- References ------------------------------------------------------------------------------


class UserRef(Schema):
    id: int
    name: str
    email: str

    @staticmethod
    def resolve_name(obj: User) -> str:
        return obj.get_full_name()


class ContactRef(Schema):
    id: int
    name: str
    email: str


class TeamRef(Schema):
    id: int
    name: str
    tier: int


class OrganizationRef(Schema):
    id: int
    name: str
    tier: CustomerTier


# --- Tickets ---------------------------------------------------------------------------------


class TicketListQuery(Schema):
    """The inbox filters (the same as the agent inbox), plus keyset paging."""

    view: str | None = Field(
        None,
        description="mine, unassigned, team, open (default), pending, solved, or a saved view's id",
    )
    status: str | None = Field(None, description="Comma-separated; repeatable.")
    priority: str | None = Field(None, description="Comma-separated; repeatable.")
    channel: str | None = Field(None, description="Comma-separated; repeatable.")
    category: str | None = Field(None, description="Comma-separated; repeatable.")
    type: str | None = Field(None, description="Comma-separated; repeatable.")
    tier: str | None = Field(None, description="1, 2 or 3; comma-separated.")
    assignee: str | None = Field(None, description="me, none, or a user id")
    team: str | None = Field(None, description="A team id")
    tag: str | None = None
    language: str | None = None
    created_from: str | None = Field(None, description="YYYY-MM-DD")
    created_to: str | None = Field(None, description="YYYY-MM-DD")
    q: str | None = Field(None, description="Full-text search (Chinese is segmented).")
    sort: str | None = Field(None, description="activity (default), oldest, newest, created")
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=100)


class TicketOut(Schema):
    number: int
    subject: str
    status: Ticket.Status
    priority: Ticket.Priority
    type: Ticket.Type
    category: Ticket.Category
    channel: Ticket.Channel
    language: str
    tier: int
    requester: ContactRef
    assignee: UserRef | None
    team: TeamRef | None
    tags: list[str] = Field(validation_alias="tag_names")
    snippet: str
    version: int
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime


class TicketPageOut(Schema):
    results: list[TicketOut]
    next_cursor: str | None


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int


class AuthorOut(Schema):
    type: str = Field(description="user (staff) or contact (customer)")
    id: int
    name: str
    email: str


class MessageOut(Schema):
    id: int
    kind: Message.Kind
    direction: Message.Direction
    channel: str
    author: AuthorOut | None
    body_text: str
    body_html: str = Field(description="Sanitised HTML, safe to render.")
    delivery_status: str
    delivery_error: str
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_author(obj: Message) -> dict[str, Any] | None:
        if obj.author_user_id:
            user = obj.author_user
            return {
                "type": "user",
                "id": user.pk,
                "name": user.get_full_name(),
                "email": user.email,
            }
        if obj.author_contact_id:
            contact = obj.author_contact
            return {
                "type": "contact",
                "id": contact.pk,
                "name": contact.name,
                "email": contact.email,
            }
        return None


class TicketDetailOut(TicketOut):
    organization: OrganizationRef | None
    merged_into: int | None = Field(description="The number of the ticket this was merged into.")
    first_response_at: datetime | None
    solved_at: datetime | None
    messages: list[MessageOut] = Field(
        validation_alias="thread", description="Oldest first, internal notes included."
    )

    @staticmethod
    def resolve_merged_into(obj: Ticket) -> int | None:
        return obj.merged_into.number if obj.merged_into_id else None


class TicketCreateIn(Schema):
    requester_email: Email
    requester_name: str = Field("", max_length=150)
    subject: str = Field(min_length=1, max_length=250)
    body: str = Field("", description="The customer's message, plain text.")
    body_html: str = Field("", description="Or as HTML (sanitised).")
    priority: Ticket.Priority = Ticket.Priority.NORMAL
    type: Ticket.Type = Ticket.Type.QUESTION
    category: Ticket.Category = Ticket.Category.INQUIRY
    channel: Ticket.Channel = Ticket.Channel.API
    language: Language = ""
    tags: Tags = []
    assignee_id: int | None = None
    team_id: int | None = None

    @model_validator(mode="after")
    def _needs_body(self) -> TicketCreateIn:
        if not self.requester_email:
            raise ValueError("requester_email is required")
        if not (self.body.strip() or self.body_html.strip()):
            raise ValueError("body or body_html is required")
        return self


class TicketUpdateIn(Schema):
    """Only the fields sent are changed. `null` unassigns (assignee_id) or clears the team."""

    status: Ticket.Status | None = None
    priority: Ticket.Priority | None = None
    type: Ticket.Type | None = None
    category: Ticket.Category | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    tags: Tags | None = Field(None, description="Replaces the ticket's tags.")
    version: int | None = Field(
        None, description="The version you last read: a newer one on the server is a 409."
    )

    @model_validator(mode="after")
    def _no_nulls(self) -> TicketUpdateIn:
        for name in ("status", "priority", "type", "category", "tags"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class MessageCreateIn(Schema):
    kind: Message.Kind = Message.Kind.REPLY
    body_text: str = ""
    body_html: str = ""
    status: Ticket.Status | None = Field(
        None, description="Replies only: set the ticket's status in the same step."
    )

    @model_validator(mode="after")
    def _status_only_on_replies(self) -> MessageCreateIn:
        if self.status and self.kind == Message.Kind.NOTE:
            raise ValueError("status can only be set with a reply")
        return self


# --- Contacts --------------------------------------------------------------------------------


class ContactListQuery(Schema):
    q: str | None = Field(None, description="Search by name, email or phone.")
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=100)


class ContactOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    language: str
    tier: CustomerTier
    created_at: datetime


class ContactPageOut(Schema):
    results: list[ContactOut]
    next_cursor: str | None


class IdentityOut(Schema):
    kind: ContactIdentity.Kind
    value: str


class TicketRef(Schema):
    number: int
    subject: str
    status: Ticket.Status
    channel: Ticket.Channel
    created_at: datetime


class ContactDetailOut(ContactOut):
    organization: OrganizationRef | None
    effective_tier: CustomerTier
    notes: str
    merged_into_id: int | None
    identities: list[IdentityOut]
    recent_tickets: list[TicketRef] = Field(description="The 20 newest, newest first.")

    @staticmethod
    def resolve_identities(obj: Contact) -> list[ContactIdentity]:
        return list(obj.identities.order_by("id")[:100])


class ContactCreateIn(Schema):
    name: str = Field("", max_length=150)
    email: Email = ""
    phone: str = Field("", max_length=40)
    language: Language = ""
    notes: str = Field("", max_length=5000)

    @model_validator(mode="after")
    def _needs_name_or_email(self) -> ContactCreateIn:
        if not (self.name.strip() or self.email):
            raise ValueError("name or email is required")
        return self
