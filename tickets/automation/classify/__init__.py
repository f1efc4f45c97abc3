"""Auto-classification of a new ticket: its inquiry type (Ticket.category) and topic.

    classify(ticket, text, kind) -> Classification       label, confidence, source, top words
    apply(ticket, facts) -> dict[kind, Classification]    the pipeline step (jobs.pipeline)
    correct(ticket=, kind=, label=, actor=)               an agent's one-click correction
    train(kind) -> ClassifierModel | None                 the tenant's model, from its labels

Where a label comes from, per kind, in this order:
1. the tenant's own model (source "model", .model): TF-IDF over the project tokenizer
   (tickets.search.tokens: lower-cased words, Chinese segmented by jieba, DESIGN.md §6) and a
   logistic regression, trained from the tenant's agent labels (.training) once it has enough.
   Confidence is the largest predicted probability; the top words are the tokens that pushed
   the winning class most.
2. keyword rules (source "rules", .keywords): the tenant's KeywordRule rows of that kind, or,
   while it has none, built-in rules in English and Chinese.
3. nothing (source "none", confidence 0): the fields are left alone.

`apply` sets the category only while the ticket still has the default one, and the topic only
while it is empty, and only at APPLY_CONFIDENCE or more; it always records what it found in
`ticket.classification` and on the timeline (one "classified" event, reason "classifier" or
"keyword rules"), and updates the routing facts so routing rules can use category and topic.

Modules: base (kinds, thresholds, the result), keywords, model (fit, predict, sealed storage
and its trust boundary), training (labels, retraining, demo labels), admin_services (Settings ›
Classification).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Ticket

from ..models import ClassifierModel, KeywordRule, TrainingLabel
from .base import (
    APPLY_CONFIDENCE,
    CORRECTED,
    FIELD,
    KIND_NAMES,
    KINDS,
    MAX_TEXT,
    REASONS,
    SOURCE_AGENT,
    SOURCE_NAMES,
    TOPIC,
    TYPE,
    Classification,
    ClassificationError,
    _check_tenant,
    _default_category,
    clean_label,
    label_text,
)
from .keywords import BUILTIN_RULES, Rule, match_rules, rules_for
from .model import _model_rows, forget_models, load_model, predict
from .training import _due_after_correction, retrain_due, seed_labels, train, train_due

if TYPE_CHECKING:
    from helpdesk.accounts.models import User

    from ..rules import Facts

logger = logging.getLogger(__name__)

__all__ = [
    "APPLY_CONFIDENCE", "BUILTIN_RULES", "KINDS", "TOPIC", "TYPE", "Classification",
    "ClassificationError", "Rule", "apply", "classify", "classify_all", "correct", "event_text",
    "forget_models", "label_text", "match_rules", "retrain_due", "seed_labels", "topic_choices",
    "train", "train_due", "type_choices",
]  # fmt: skip


def classify(ticket: Ticket, text: str, kind: str = TYPE) -> Classification:
    """`text` (subject and first message) of `ticket`, as one kind: type or topic."""
    return classify_all(ticket, text, kinds=(kind,))[kind]


def classify_all(
    ticket: Ticket, text: str, *, kinds: Sequence[str] = KINDS
) -> dict[str, Classification]:
    """Both kinds at once: two queries (models, rules; once per batch of automation jobs).
    The model decides when there is one worth using; where it is unsure (below
    `required_confidence`), a matching keyword rule decides instead; without a model, the
    rules alone."""
    from ..jobs import per_batch  # a batch of jobs (one transaction) reads them once

    tenant_id = _check_tenant(ticket)
    text = text[:MAX_TEXT]
    kinds = tuple(kinds)
    rows = per_batch(("classify-models", kinds), lambda: _model_rows(kinds))
    rules = per_batch(("classify-rules", kinds), lambda: rules_for(kinds))
    out: dict[str, Classification] = {}
    for kind in kinds:
        result = None
        model = load_model(tenant_id, kind, *rows[kind]) if kind in rows else None
        if kind in rows and (model is None or model.stale):
            _retrain_soon(tenant_id, kind)  # unreadable, or pickled by another scikit-learn
        if model is not None and model.use and not model.stale:
            try:
                result = predict(model, text, kind)
            except Exception:  # noqa: BLE001 - fall back to the rules
                logger.exception("classifier %s of tenant %s failed", kind, tenant_id)
        if result is None or not result.sure:
            # No model, or it is unsure: a matching keyword rule does better (bench/classify.py).
            by_rules = match_rules(text, rules[kind], kind)
            if result is None or by_rules.label:
                result = by_rules
        out[kind] = result
    return out


def _retrain_soon(tenant_id: int, kind: str) -> None:
    """Ask for a retraining of a model that cannot be used, once an hour at most."""
    from django.core.cache import cache

    from helpdesk.tenancy.tasks import enqueue_on_commit
    from tickets.tasks import train_classifiers

    try:
        asked = cache.add(f"classify-retrain:{tenant_id}:{kind}", 1, 3600)
    except Exception:  # noqa: BLE001 - Redis down: the hourly beat catches up
        return
    if asked:
        enqueue_on_commit(train_classifiers, kinds=[kind])


def _changes(ticket: Ticket, results: dict[str, Classification]) -> dict[str, str]:
    """The fields to set: the category while it is the default, the topic while it is empty,
    each only when the classification is confident enough."""
    changes = {}
    found = results.get(TYPE)
    if (
        found is not None and found.sure and found.confidence >= APPLY_CONFIDENCE
        and found.label in Ticket.Category.values and found.label != ticket.category
        and ticket.category == _default_category()
    ):  # fmt: skip
        changes["category"] = found.label
    found = results.get(TOPIC)
    if found is not None and found.sure and found.confidence >= APPLY_CONFIDENCE \
            and found.label and not ticket.topic:  # fmt: skip
        changes["topic"] = found.label[:50]
    return changes


def apply(ticket: Ticket, facts: Facts) -> dict[str, Classification]:
    """The pipeline step on a new ticket (inside the job's transaction, ticket locked): set
    category and topic (`_changes`), record what was found in `ticket.classification`, leave
    one "classified" event, update `facts` for routing. A kind an agent has labelled already
    (the demo seed does) is left alone."""
    from tickets import services

    done = ticket.classification or {}
    kinds = [k for k in KINDS if (done.get(k) or {}).get("source") != SOURCE_AGENT]
    if not kinds:
        return {}
    results = classify_all(ticket, f"{facts.subject}\n{facts.body}", kinds=kinds)
    changes = _changes(ticket, results)
    before = {name: getattr(ticket, name) for name in changes}
    found = {kind: result.as_data() for kind, result in results.items()}
    data = {**done, **found}
    update: dict[str, Any] = {"classification": data, **changes}
    if changes:
        update["updated_at"] = timezone.now()
    services._write_ticket(ticket, update, bump=bool(changes))  # merged into the batch's UPDATE
    ticket.classification = data
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket.version += bool(changes)
    sources = [r.source for r in results.values() if r.label and r.source in REASONS]
    if sources:
        changed = {name: {"old": before[name], "new": value} for name, value in changes.items()}
        reason = ", ".join(REASONS[source] for source in dict.fromkeys(sources))
        services.event(ticket=ticket, kind="classified", actor=None, reason=reason, set=changed,
                       **found)  # fmt: skip
    facts.category, facts.topic = ticket.category, ticket.topic
    return results


def topic_choices(*, extra: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The topics an agent may pick: the tenant's topic rules' labels (or the built-in topics
    while it has none), those its topic model learned, and `extra` (e.g. the ticket's topic
    now). Two small queries."""
    rules = KeywordRule.objects.filter(kind=TOPIC).order_by("position", "id")
    own = list(rules.values_list("label", flat=True))
    learned = ClassifierModel.objects.filter(kind=TOPIC).values_list("labels", flat=True).first()
    values = own or [rule.label for rule in BUILTIN_RULES[TOPIC]]
    values = list(dict.fromkeys([*values, *(learned or []), *(v for v in extra if v)]))
    return [(value, label_text(TOPIC, value)) for value in values]


def type_choices() -> list[tuple[str, str]]:
    return [(str(v), str(label)) for v, label in Ticket.Category.choices]


@transaction.atomic
def correct(*, ticket: Ticket, kind: str, label: str, actor: User) -> Classification:
    """An agent says what the ticket is (a correction, or "this is right" with the label it has
    now): the field changes through tickets.services with the reason "corrected
    classification", the agent's word is kept as a TrainingLabel (created or replaced) and in
    `ticket.classification`, and the tenant's model is retrained on commit once enough labels
    changed since it was last trained."""
    from tickets import services

    from .. import jobs

    _check_tenant(ticket)
    current = Ticket.objects.select_for_update().get(pk=ticket.pk)
    allowed = None
    if kind == TOPIC:
        allowed = [value for value, _text in topic_choices(extra=[current.topic])]
    label = clean_label(kind, label, allowed=allowed)
    if kind == TYPE:
        services.ticket_update(ticket=ticket, actor=actor, reason=CORRECTED, category=label)
    else:
        # Topic is not among services.EDITABLE_FIELDS: the same change-and-event path that
        # routing's "set topic" takes, plus the "updated" job ticket_update would enqueue.
        changed = services._apply_changes(current, {"topic": label}, actor=actor,
                                          reason=CORRECTED)  # fmt: skip
        if changed:
            jobs.enqueue(current, "updated", fields=changed, by=actor.pk)
        ticket.topic, ticket.version = current.topic, current.version
    data = dict(current.classification or {})
    before = data.get(kind) or {}
    predicted = before.get("predicted") if before.get("source") == SOURCE_AGENT else before
    entry = {"label": label, "confidence": 1.0, "source": SOURCE_AGENT, "words": [],
             "by": actor.pk, "predicted": predicted or {}}  # fmt: skip
    data[kind] = entry
    Ticket.objects.filter(pk=ticket.pk).update(classification=data)
    ticket.classification = data
    TrainingLabel.objects.update_or_create(
        ticket=current, kind=kind, defaults={"label": label, "labelled_by": actor}
    )
    if _due_after_correction(kind):
        from helpdesk.tenancy.tasks import enqueue_on_commit
        from tickets.tasks import train_classifiers

        enqueue_on_commit(train_classifiers, kinds=[kind])
    return Classification(kind, label, 1.0, SOURCE_AGENT)


def _found_text(kind: str, entry: dict, applied: bool) -> str:
    values = {
        "field": KIND_NAMES[kind],
        "label": label_text(kind, entry.get("label", "")),
        "pct": round(100 * float(entry.get("confidence") or 0)),
        "source": SOURCE_NAMES.get(entry.get("source", ""), entry.get("source", "")),
    }
    if entry.get("words"):
        values["source"] = f"{values['source']}: {', '.join(entry['words'])}"
    if applied:
        return _("%(field)s set to %(label)s (%(pct)d%%, %(source)s)") % values
    return _("%(field)s looks like %(label)s (%(pct)d%%, %(source)s), left as it was") % values


def event_text(kind: str, data: dict, who: str) -> str:
    """Timeline lines of this module: "classified", and "topic" changes."""
    if kind == "topic":
        values = {"who": who, "old": label_text(TOPIC, data.get("old") or ""),
                  "new": label_text(TOPIC, data.get("new") or "")}  # fmt: skip
        if not data.get("old"):
            return _("%(who)s set the topic to %(new)s") % values
        return _("%(who)s changed the topic from %(old)s to %(new)s") % values
    applied = data.get("set") or {}
    parts = [
        _found_text(k, data[k], FIELD[k] in applied)
        for k in KINDS
        if isinstance(data.get(k), dict) and data[k].get("label")
    ]
    return _("Automation classified the ticket: %(what)s") % {"what": "; ".join(parts)}
