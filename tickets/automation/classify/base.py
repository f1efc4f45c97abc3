"""Shared names of the classification package: kinds, thresholds, the result type, labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.tenancy.context import CrossTenantWriteError, require_current_tenant
from tickets.models import Ticket

from ..models import KeywordRule

TYPE, TOPIC = KeywordRule.Kind.TYPE.value, KeywordRule.Kind.TOPIC.value
KINDS = (TYPE, TOPIC)
FIELD = {TYPE: "category", TOPIC: "topic"}

# When a tenant gets a model of its own (per kind).
MIN_LABELS = 30
MIN_CLASSES = 2
MIN_PER_CLASS = 5
# Below this the classification is recorded (and shown) but the field is not set. A model of
# k classes must also beat chance (1/k) by CHANCE_MARGIN: with two classes 0.5 means nothing.
APPLY_CONFIDENCE = 0.5
CHANCE_MARGIN = 0.25
RULE_CONFIDENCE = (0.6, 0.75, 0.9)  # one, two, three or more distinct keywords
TOP_WORDS = 5
MAX_TEXT = 4000  # characters of subject + first message looked at
MAX_TRAINING_LABELS = 20_000  # the most recent labels of a kind
CV_FOLDS = 5
LOGREG_C = 3.0  # regularisation (bench/classify.py: best of 1, 3, 10, 30)
# Retraining: the beat (hourly) retrains a kind whose labels changed since its last training
# once that training is RETRAIN_EVERY old ("nightly-ish"); RETRAIN_AFTER_CHANGES changed labels
# retrain it straight away (checked after each correction).
RETRAIN_EVERY = timedelta(hours=20)
RETRAIN_AFTER_CHANGES = 20
STATUS_TTL = 24 * 3600  # seconds the "retrain now" progress note is kept

SOURCE_MODEL, SOURCE_RULES, SOURCE_NONE, SOURCE_AGENT = "model", "rules", "none", "agent"
REASONS = {SOURCE_MODEL: "classifier", SOURCE_RULES: "keyword rules"}  # TicketEvent.reason
CORRECTED = "corrected classification"  # the reason on an agent's correction


class ClassificationError(Exception):
    """Bad input for a rule or a correction; the message is shown to the user as is."""


@dataclass(frozen=True)
class Classification:
    kind: str
    label: str = ""
    confidence: float = 0.0
    source: str = SOURCE_NONE
    words: tuple[str, ...] = ()
    sure: bool = True  # confident enough to set the field (see required_confidence)

    def as_data(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": round(float(self.confidence), 3),
            "source": self.source,
            "words": list(self.words),
        }


TOPIC_NAMES = {
    "billing": gettext_lazy("Billing and payments"),
    "shipping": gettext_lazy("Shipping and returns"),
    "account": gettext_lazy("Account and sign-in"),
    "technical": gettext_lazy("Technical problem"),
    "product": gettext_lazy("Product"),
    "sales": gettext_lazy("Sales"),
}


KIND_NAMES = {TYPE: gettext_lazy("Inquiry type"), TOPIC: gettext_lazy("Topic")}


SOURCE_NAMES = {
    SOURCE_MODEL: gettext_lazy("the classifier"),
    SOURCE_RULES: gettext_lazy("keyword rules"),
    SOURCE_AGENT: gettext_lazy("an agent"),
}


def required_confidence(classes: int) -> float:
    """The confidence a model of `classes` classes needs before its label is used."""
    return max(APPLY_CONFIDENCE, 1 / max(classes, 1) + CHANCE_MARGIN)


def label_text(kind: str, value: str) -> str:
    """A label as the reader sees it: "Complaint", "Billing and payments", "退款"."""
    if not value:
        return _("none")
    if kind == TYPE:
        return str(dict(Ticket.Category.choices).get(value, value))
    return str(TOPIC_NAMES.get(value, value))


def _default_category() -> str:
    return Ticket._meta.get_field("category").default


def _check_tenant(ticket: Ticket) -> int:
    tenant_id = require_current_tenant().pk
    if ticket.tenant_id != tenant_id:
        raise CrossTenantWriteError(f"ticket of tenant {ticket.tenant_id} in tenant {tenant_id}")
    return tenant_id


def clean_label(kind: str, label: str, *, allowed: Iterable[str] | None = None) -> str:
    label = (label or "").strip()
    if kind not in KINDS:
        raise ClassificationError(_("Unknown kind of classification."))
    if not label:
        raise ClassificationError(_("Choose a label."))
    if kind == TYPE and label not in Ticket.Category.values:
        raise ClassificationError(_("“%(label)s” is not an inquiry type.") % {"label": label})
    if len(label) > 50:
        raise ClassificationError(_("A label has at most 50 characters."))
    if allowed is not None and label not in set(allowed):
        raise ClassificationError(_("“%(label)s” is not one of the topics.") % {"label": label})
    return label
