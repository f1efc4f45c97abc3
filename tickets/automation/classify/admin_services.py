"""Settings › Classification: keyword rules (written here, audited), model status, "retrain now"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import BinaryField, F, Func, Max, Value
from django.utils.translation import gettext as _

from ..models import ClassifierModel, KeywordRule, TrainingLabel
from .base import (
    KINDS,
    MIN_CLASSES,
    MIN_LABELS,
    MIN_PER_CLASS,
    ClassificationError,
    clean_label,
    label_text,
)
from .keywords import BUILTIN_RULES, normalise
from .model import HEAD_BYTES, peek
from .training import label_counts, set_train_status, train_status

if TYPE_CHECKING:
    from helpdesk.accounts.models import User

MAX_KEYWORDS = 200


def clean_keywords(keywords: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(normalise(str(k))[:60] for k in keywords if str(k).strip()))
    cleaned = [k for k in cleaned if k]
    if not cleaned:
        raise ClassificationError(_("Give at least one keyword."))
    if len(cleaned) > MAX_KEYWORDS:
        raise ClassificationError(_("At most %(n)d keywords per rule.") % {"n": MAX_KEYWORDS})
    return cleaned


def _audit(actor: User, action: str, summary: str, **data: Any) -> None:
    from helpdesk.tenancy.services import audit

    audit(actor=actor, action=f"classification.{action}", summary=summary[:300], **data)


def _next_position(kind: str) -> int:
    top = KeywordRule.objects.filter(kind=kind).aggregate(top=Max("position"))["top"]
    return 10 if top is None else top + 10


@transaction.atomic
def keyword_rule_create(
    *, actor: User, kind: str, label: str, keywords: Iterable[str], position: int | None = None
) -> KeywordRule:
    label = clean_label(kind, label)
    words = clean_keywords(keywords)
    rule = KeywordRule.objects.create(
        kind=kind, label=label, keywords=words,
        position=_next_position(kind) if position is None else position,
    )  # fmt: skip
    _audit(actor, "rule_created", f"Keyword rule ({kind}) “{label}”: {', '.join(words)}",
           rule=rule.pk)  # fmt: skip
    return rule


@transaction.atomic
def keyword_rule_update(
    *, rule: KeywordRule, actor: User, label: str, keywords: Iterable[str], position: int
) -> KeywordRule:
    values = {"label": clean_label(rule.kind, label), "keywords": clean_keywords(keywords),
              "position": position}  # fmt: skip
    changed = [name for name, value in values.items() if getattr(rule, name) != value]
    if not changed:
        return rule
    before = {name: getattr(rule, name) for name in changed}
    for name in changed:
        setattr(rule, name, values[name])
    rule.save(update_fields=changed)
    _audit(actor, "rule_updated", f"Keyword rule ({rule.kind}) “{rule.label}” changed: "
           f"{', '.join(changed)}", rule=rule.pk, before=before)  # fmt: skip
    return rule


@transaction.atomic
def keyword_rule_delete(*, rule: KeywordRule, actor: User) -> None:
    summary = f"Keyword rule ({rule.kind}) “{rule.label}” deleted"
    data = {"rule": rule.pk, "keywords": rule.keywords}
    rule.delete()
    _audit(actor, "rule_deleted", summary, **data)


@transaction.atomic
def keyword_rules_copy_builtin(*, actor: User, kind: str) -> int:
    """Start the tenant's own rules of `kind` from the built-in ones (only while it has none)."""
    if kind not in KINDS:
        raise ClassificationError(_("Unknown kind of classification."))
    if KeywordRule.objects.filter(kind=kind).exists():
        return 0
    rules = BUILTIN_RULES[kind]
    for n, rule in enumerate(rules, start=1):
        KeywordRule.objects.create(
            kind=kind, label=rule.label, keywords=list(rule.keywords), position=10 * n
        )
    _audit(actor, "rules_copied", f"Built-in keyword rules ({kind}) copied: {len(rules)}")
    return len(rules)


def request_training(*, actor: User, kind: str) -> None:
    """ "Retrain now": queue the task on commit, note it as queued, and audit it."""
    from helpdesk.tenancy.tasks import enqueue_on_commit
    from tickets.tasks import train_classifier

    if kind not in KINDS:
        raise ClassificationError(_("Unknown kind of classification."))
    set_train_status(kind, "queued")
    enqueue_on_commit(train_classifier, kind=kind)
    _audit(actor, "retrain_requested", f"Retraining of the {kind} classifier requested")


def status(kind: str) -> dict[str, Any]:
    """What the settings page shows about `kind`: the model (with the accuracies from its
    header, read without unpickling), the labels per class, the "retrain now" progress note."""
    head = Func(F("blob"), Value(1), Value(HEAD_BYTES), function="substring",
                output_field=BinaryField())  # fmt: skip
    model = (
        ClassifierModel.objects.filter(kind=kind)
        .annotate(head=head)
        .values("samples", "accuracy", "trained_at", "labels", "head")
        .first()
    )
    counts = label_counts(kind)
    changed = 0
    if model is not None:
        model.update(peek(model.pop("head")))
        model["percent"] = _percent(model.get("accuracy"))
        model["rules_percent"] = _percent(model.get("rules_accuracy"))
        model["labels_text"] = [label_text(kind, label) for label in model["labels"]]
        since = model["trained_at"]
        changed = TrainingLabel.objects.filter(kind=kind, created_at__gt=since).count()
    usable = {label: n for label, n in counts.items() if n >= MIN_PER_CLASS}
    return {
        "kind": kind,
        "model": model,
        "labels": [(label_text(kind, k), n) for k, n in counts.most_common()],
        "total": sum(counts.values()),
        "ready": sum(usable.values()) >= MIN_LABELS and len(usable) >= MIN_CLASSES,
        "changed": changed,
        "progress": train_status(kind),
    }


def _percent(value: float | None) -> int | None:
    return None if value is None else round(100 * value)
