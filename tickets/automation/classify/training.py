"""Training: the tenant's labels → its model; when to retrain; the demo's labels.

What counts as a label: only explicit TrainingLabel rows, written when an agent corrects or
confirms a classification on the ticket page (and by `seed_labels` for the demo tenants). A
label is per (ticket, kind); a second word replaces the first. A model is trained from the
subject and first message of each labelled ticket (what the classifier sees of a new ticket),
once there are MIN_LABELS labels in at least MIN_CLASSES classes of MIN_PER_CLASS or more
(rarer classes are left out until they have enough).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Max, OuterRef, Subquery
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.context import require_current_tenant
from tickets.models import Message, Ticket

from ..models import ClassifierModel, TrainingLabel
from .base import (
    KINDS,
    MAX_TEXT,
    MAX_TRAINING_LABELS,
    MIN_CLASSES,
    MIN_LABELS,
    MIN_PER_CLASS,
    RETRAIN_AFTER_CHANGES,
    RETRAIN_EVERY,
    SOURCE_AGENT,
    STATUS_TTL,
    TOPIC,
    TYPE,
    ClassificationError,
    _default_category,
)
from .keywords import rules_for
from .model import fit, load_model, seal

logger = logging.getLogger(__name__)


def training_data(kind: str) -> tuple[list[str], list[str], Counter]:
    """The current tenant's labelled texts of `kind` (subject and first message, as the
    classifier sees a new ticket), the most recent MAX_TRAINING_LABELS, and all class counts."""
    first = (
        Message.objects.filter(ticket=OuterRef("ticket_id"))
        .order_by("created_at", "id")
        .values("body_text")[:1]
    )
    rows = (
        TrainingLabel.objects.filter(kind=kind)
        .order_by("-created_at", "-id")
        .annotate(subject=F("ticket__subject"), body=Left(Subquery(first), MAX_TEXT))
        .values_list("subject", "body", "label")[:MAX_TRAINING_LABELS]
    )
    texts, labels = [], []
    for subject, body, label in rows:
        if kind == TYPE and label not in Ticket.Category.values:
            continue
        texts.append(f"{subject}\n{body or ''}")
        labels.append(label)
    return texts, labels, Counter(labels)


def trainable(labels: Sequence[str] | Counter) -> set[str]:
    """The classes a model may learn (from the labels, or their counts), or an empty set when
    there is not enough to learn from."""
    counts = labels if isinstance(labels, Counter) else Counter(labels)
    keep = {label for label, n in counts.items() if n >= MIN_PER_CLASS}
    if len(keep) < MIN_CLASSES or sum(counts[label] for label in keep) < MIN_LABELS:
        return set()
    return keep


def _lock(tenant_id: int, kind: str) -> None:
    """One training per tenant and kind at a time (a second waits, then finds nothing new)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       [7301, tenant_id * 2 + KINDS.index(kind)])  # fmt: skip


def train(kind: str) -> ClassifierModel | None:
    """Train the current tenant's model of `kind` from its labels and store it. Returns None
    (and drops an old model) when there are not enough labels. Deterministic for the same
    labels, and serialised per tenant and kind."""
    if kind not in KINDS:
        raise ClassificationError(_("Unknown kind of classification."))
    tenant_id = require_current_tenant().pk
    started = timezone.now()
    with transaction.atomic():
        _lock(tenant_id, kind)
        texts, labels, _counts = training_data(kind)
        keep = trainable(labels)
        if not keep:
            ClassifierModel.objects.filter(kind=kind).delete()
            return None
        pairs = [(t, label) for t, label in zip(texts, labels, strict=True) if label in keep]
        default = _default_category() if kind == TYPE else ""
        fitted = fit([t for t, _l in pairs], [label for _t, label in pairs], kind=kind,
                     rules=rules_for((kind,))[kind], default=default)  # fmt: skip
        model, _created = ClassifierModel.objects.update_or_create(
            kind=kind,
            defaults={
                "blob": seal(tenant_id, kind, fitted),
                "labels": fitted.labels,
                "samples": fitted.samples,
                "accuracy": fitted.accuracy,
            },
        )
        # The labels read are those up to `started`: later ones count as changed next time.
        ClassifierModel.objects.filter(pk=model.pk).update(trained_at=started)
        model.trained_at = started
    logger.info("trained %s classifier of tenant %s: %s samples, accuracy %s", kind, tenant_id,
                fitted.samples, fitted.accuracy)  # fmt: skip
    return model


def retrain_due(kind: str, *, min_age: timedelta | None = RETRAIN_EVERY) -> str | None:
    """Why the current tenant's model of `kind` should be trained now, or None:
    "new" (enough labels, no model), "unreadable" (fails its check or another scikit-learn
    version), "changes" (RETRAIN_AFTER_CHANGES labels changed since), "age" (any label changed
    and the model is `min_age` old; None: never for age alone)."""
    row = ClassifierModel.objects.filter(kind=kind).values_list("pk", "trained_at").first()
    if row is None:
        return "new" if trainable(label_counts(kind)) else None
    pk, trained_at = row
    model = load_model(require_current_tenant().pk, kind, pk, trained_at)
    if model is None or model.stale:
        return "unreadable"
    changed = TrainingLabel.objects.filter(kind=kind, created_at__gt=trained_at).count()
    if changed >= RETRAIN_AFTER_CHANGES:
        return "changes"
    if changed and min_age is not None and timezone.now() - trained_at >= min_age:
        return "age"
    return None


def label_counts(kind: str) -> Counter:
    """The current tenant's labels of `kind`, counted per label (one query)."""
    rows = TrainingLabel.objects.filter(kind=kind).values_list("label").annotate(n=Count("id"))
    return Counter(dict(rows))


def _due_after_correction(kind: str) -> bool:
    """Cheaper than `retrain_due` (no model is loaded in the web process): a first model has
    become possible, or RETRAIN_AFTER_CHANGES labels changed since the last training."""
    trained_at = (
        ClassifierModel.objects.filter(kind=kind).values_list("trained_at", flat=True).first()
    )
    if trained_at is None:
        return bool(trainable(label_counts(kind)))
    changed = TrainingLabel.objects.filter(kind=kind, created_at__gt=trained_at).count()
    return changed >= RETRAIN_AFTER_CHANGES


def train_due(kinds: Iterable[str] = KINDS, *, force: bool = False) -> dict[str, str]:
    """The per-tenant retraining task's body: train each kind that is due (or all, `force`).
    Safe to run twice: a kind trained a moment ago is not due."""
    outcome = {}
    for kind in kinds:
        why = "forced" if force else retrain_due(kind)
        if why is None:
            outcome[kind] = "unchanged"
            continue
        model = train(kind)
        outcome[kind] = f"trained ({why})" if model is not None else "not enough labels"
    return outcome


def tenants_due(now: datetime | None = None) -> list[int]:
    """Beat: the tenants that may have a model to (re)train. Cross-tenant, reading only counts
    and dates, through the all_tenants() door; each tenant then decides in its own task."""
    now = now or timezone.now()
    labels = (
        TrainingLabel.objects.all_tenants()
        .values("tenant_id", "kind")
        .annotate(n=Count("id"), last=Max("created_at"))
    )
    trained = {
        (tenant_id, kind): at
        for tenant_id, kind, at in ClassifierModel.objects.all_tenants().values_list(
            "tenant_id", "kind", "trained_at"
        )
    }
    due = set()
    for row in labels:
        at = trained.get((row["tenant_id"], row["kind"]))
        if at is None:
            if row["n"] >= MIN_LABELS:
                due.add(row["tenant_id"])
        elif row["last"] > at and now - at >= RETRAIN_EVERY:
            due.add(row["tenant_id"])
    return sorted(due)


def _status_key(tenant_id: int, kind: str) -> str:
    return f"classify-train:{tenant_id}:{kind}"


def set_train_status(kind: str, state: str, **details: Any) -> None:
    """queued / running / done / failed, for the settings page. Never raises."""
    key = _status_key(require_current_tenant().pk, kind)
    try:
        cache.set(key, {"state": state, "at": timezone.now().isoformat(), **details}, STATUS_TTL)
    except Exception:  # noqa: BLE001 - a progress note is not worth an error
        logger.warning("could not store the training status", exc_info=True)


def train_status(kind: str) -> dict[str, Any]:
    try:
        return cache.get(_status_key(require_current_tenant().pk, kind)) or {}
    except Exception:  # noqa: BLE001
        return {}


def train_now(kind: str) -> dict[str, Any]:
    """The "retrain now" task's body: train `kind`, keeping the progress note up to date."""
    set_train_status(kind, "running")
    try:
        model = train(kind)
    except Exception as error:
        set_train_status(kind, "failed", error=f"{type(error).__name__}: {error}"[:300])
        raise
    if model is None:
        set_train_status(kind, "done", trained=False)
        return {"kind": kind, "trained": False}
    details = {"trained": True, "samples": model.samples, "accuracy": model.accuracy}
    set_train_status(kind, "done", **details)
    return {"kind": kind, **details}


DEMO_TOPIC_TAGS = (
    ("product", {"feature-request", "warranty", "建议", "保修"}),
    (
        "technical",
        {"bug", "reports", "api", "mobile", "performance", "故障", "手机app", "接口", "性能"},
    ),
    ("shipping", {"shipping", "returns", "物流", "退换货"}),
    ("billing", {"refund", "billing", "invoice", "payment", "退款", "支付", "发票"}),
    (
        "account",
        {"login", "account", "security", "sso", "privacy", "登录", "账户", "账户安全", "隐私"},
    ),
    ("sales", {"sales", "销售", "售前咨询"}),
)


def demo_topic(tags: Iterable[str]) -> str:
    names = {t.lower() for t in tags}
    return next((topic for topic, wanted in DEMO_TOPIC_TAGS if names & wanted), "")


def seed_labels(tenant: Any, *, train_models: bool = True) -> int:
    """Demo (tickets.demo): the seeded tickets agents have worked on (every ticket past "new",
    not merged away) count as labelled by their assignee: type = the category the story gave
    them, topic = from their tags. Writes TrainingLabels, the topic and `classification`
    (source "agent", so the pipeline leaves them alone), then trains both models. Idempotent.

    Call it at the end of tickets.demo.seed_tickets, after the story is told:
        from .automation.classify import seed_labels
        seed_labels(tenant)
    """
    from helpdesk.tenancy.context import tenant_context
    from tickets.models import TicketTag

    made = 0
    with tenant_context(tenant), transaction.atomic():
        tickets = list(
            Ticket.objects.filter(merged_into__isnull=True)
            .exclude(status=Ticket.Status.NEW)
            .only("id", "category", "topic", "assignee_id", "classification")
        )
        tags: dict[int, list[str]] = {}
        for ticket_id, name in TicketTag.objects.filter(
            ticket__in=[t.pk for t in tickets]
        ).values_list("ticket_id", "tag__name"):
            tags.setdefault(ticket_id, []).append(name)
        labelled = set(TrainingLabel.objects.values_list("ticket_id", "kind"))
        new = []
        for ticket in tickets:
            topic = ticket.topic or demo_topic(tags.get(ticket.pk, []))
            labels = {TYPE: ticket.category, TOPIC: topic}
            data = dict(ticket.classification or {})
            for kind, label in labels.items():
                if not label or (ticket.pk, kind) in labelled:
                    continue
                new.append(TrainingLabel(ticket_id=ticket.pk, kind=kind, label=label,
                                         labelled_by_id=ticket.assignee_id))  # fmt: skip
                data[kind] = {"label": label, "confidence": 1.0, "source": SOURCE_AGENT,
                              "words": [], "by": ticket.assignee_id, "predicted": {}}  # fmt: skip
            if data != (ticket.classification or {}):
                Ticket.objects.filter(pk=ticket.pk).update(classification=data, topic=topic)
        for label in new:
            label.save()
        made = len(new)
    if train_models:
        with tenant_context(tenant):
            for kind in KINDS:
                train(kind)
    return made
