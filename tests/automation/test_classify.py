"""Classification of inquiry type and topic (tickets.automation.classify): keyword rules below
the label threshold, the tenant's model above it (with confidence and top words), the model
used only when it beats the rules, agents' one-click corrections as training labels, the
retraining tasks (idempotent), tenant isolation (models, labels, sealed blobs), the pipeline
step's facts for routing, the ticket page panel and Settings › Classification."""

from __future__ import annotations

import pytest
from django.db.models import F
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from tests.factories import make_ticket
from tests.helpers import sign_in
from tickets import tasks
from tickets.automation import classify
from tickets.automation.classify import admin_services, model, training
from tickets.automation.models import ClassifierModel, KeywordRule, TrainingLabel
from tickets.automation.rules import facts_for
from tickets.models import Ticket, TicketEvent

HTMX = {"HTTP_HX_REQUEST": "true"}

# Two topics the built-in keyword rules know nothing about: only a model can tell them apart.
PRINTERS = [
    f"{s} {b}"
    for s in ("Printer", "打印机", "Office printer", "Printing")
    for b in ("jams paper", "toner is empty", "prints blank pages", "卡纸了", "墨粉用完了")
]
SCANNERS = [f"{s} {b}" for s in ("Scanner", "扫描仪", "Office scanner", "Scanning")
            for b in ("won't detect the document", "saves black images", "glass is scratched",
                      "扫描不出来", "扫描件是黑的")]  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_models():
    classify.forget_models()
    yield
    classify.forget_models()


def labelled(tenant, texts: list[str], label: str, *, kind: str = "topic", by=None) -> list:
    """Tickets with these subjects, labelled by an agent."""
    tickets = [make_ticket(tenant, subject=text, body="") for text in texts]
    with tenant_context(tenant):
        for ticket in tickets:
            TrainingLabel.objects.create(ticket=ticket, kind=kind, label=label, labelled_by=by)
    return tickets


def printers_model(tenant):
    labelled(tenant, PRINTERS, "printers")
    labelled(tenant, SCANNERS, "scanners")
    with tenant_context(tenant):
        return classify.train("topic")


def classify_text(tenant, text: str, kind: str):
    ticket = make_ticket(tenant, subject=text, body="")
    with tenant_context(tenant):
        return classify.classify(ticket, text, kind)


# --- Keyword rules ----------------------------------------------------------------------------


def test_below_the_threshold_keyword_rules_decide(tenant_a, agent):
    labelled(tenant_a, PRINTERS[:12], "printers")
    labelled(tenant_a, SCANNERS[:12], "scanners")  # 24 labels: fewer than MIN_LABELS
    with tenant_context(tenant_a):
        assert classify.train("topic") is None
        assert not ClassifierModel.objects.exists()
    found = classify_text(tenant_a, "投诉：快递员态度太差，包裹压坏了", "type")
    assert (found.label, found.source) == ("complaint", "rules")
    assert found.confidence == pytest.approx(0.75)  # two distinct keywords: 投诉, 太差
    assert found.words == ("投诉", "太差")
    topic = classify_text(tenant_a, "投诉：快递员态度太差，包裹压坏了", "topic")
    assert (topic.label, topic.source, topic.words) == ("shipping", "rules", ("快递", "包裹"))
    question = classify_text(tenant_a, "How do I download last year's invoices?", "type")
    assert (question.label, question.confidence) == ("inquiry", 0.6)


def test_latin_keywords_match_at_word_starts_chinese_anywhere(tenant_a):
    rules = [classify.Rule("technical", ("api",)), classify.Rule("billing", ("退款",))]
    assert classify.match_rules("The capital city", rules, "topic").label == ""
    assert classify.match_rules("Our APIs return 500", rules, "topic").label == "technical"
    assert classify.match_rules("申请退款了", rules, "topic").label == "billing"
    nothing = classify.match_rules("xyz", rules, "topic")
    assert (nothing.label, nothing.confidence, nothing.source) == ("", 0.0, "none")


def test_own_rules_replace_the_built_in_ones_first_by_position_wins(tenant_a, admin):
    with tenant_context(tenant_a):
        admin_services.keyword_rule_create(actor=admin, kind="type", label="other",
                                           keywords=["invoice"], position=20)  # fmt: skip
        admin_services.keyword_rule_create(actor=admin, kind="type", label="suggestion",
                                           keywords=["Invoice", "发票"], position=10)  # fmt: skip
    found = classify_text(tenant_a, "This is unacceptable: my invoice is wrong", "type")
    assert (found.label, found.words) == ("suggestion", ("invoice",))  # not the built-in complaint
    assert classify_text(tenant_a, "Totally unacceptable!", "type").source == "none"


# --- The model --------------------------------------------------------------------------------


def test_above_the_threshold_the_model_decides_with_confidence_and_top_words(tenant_a):
    trained = printers_model(tenant_a)
    assert trained is not None and trained.samples == 40
    assert sorted(trained.labels) == ["printers", "scanners"]
    assert trained.accuracy > 0.9
    found = classify_text(tenant_a, "The office printer toner is empty again", "topic")
    assert (found.label, found.source) == ("printers", "model")
    assert found.confidence >= classify.APPLY_CONFIDENCE
    assert found.words and set(found.words) <= {"the", "office", "printer", "toner", "is",
                                                "empty", "again"}  # fmt: skip
    assert found.words[0] in {"printer", "toner"}
    zh = classify_text(tenant_a, "扫描仪扫描不出来", "topic")
    assert (zh.label, zh.source) == ("scanners", "model") and "扫描" in zh.words
    # The other kind has no model: its keyword rules still decide.
    assert classify_text(tenant_a, "打印机卡纸，太差了", "type").source == "rules"


def test_a_model_worse_than_the_rules_is_kept_but_not_used(tenant_a):
    """Labels the built-in rules get right (a complaint says "unacceptable", a question has a
    question mark): the model cannot beat them, so they keep deciding."""
    labelled(tenant_a, [f"This is unacceptable, order {n}" for n in range(20)], "complaint",
             kind="type")  # fmt: skip
    labelled(tenant_a, [f"How do I change order {n}?" for n in range(20)], "inquiry",
             kind="type")  # fmt: skip
    with tenant_context(tenant_a):
        trained = classify.train("type")
        head = admin_services.status("type")["model"]
    assert trained is not None
    assert head["use"] is False and head["rules_percent"] == 100
    found = classify_text(tenant_a, "Unacceptable delay on order 7", "type")
    assert found.source == "rules"


def test_sealed_blob_is_bound_to_its_tenant_and_bytes(tenant_a, tenant_b):
    trained_b = printers_model(tenant_b)
    blob = bytes(trained_b.blob)
    assert model.unseal(tenant_b.pk, "topic", blob) is not None
    assert model.unseal(tenant_a.pk, "topic", blob) is None  # another tenant's: refused
    assert model.unseal(tenant_b.pk, "type", blob) is None  # another kind: refused
    tampered = blob[:-10] + bytes(b ^ 1 for b in blob[-10:])
    assert model.unseal(tenant_b.pk, "topic", tampered) is None
    assert model.unseal(tenant_b.pk, "topic", b"\x80\x04 not ours") is None


def test_a_model_that_cannot_be_used_asks_for_retraining_once(
    tenant_a, monkeypatch, django_capture_on_commit_callbacks
):
    printers_model(tenant_a)
    with tenant_context(tenant_a):
        ClassifierModel.objects.update(blob=b"HDC2" + b"\0" * 40)  # fails its check
    sent = []
    monkeypatch.setattr(tasks.train_classifiers, "delay", lambda *a, **k: sent.append((a, k)))
    with django_capture_on_commit_callbacks(execute=True):
        assert classify_text(tenant_a, "printer toner empty", "topic").source != "model"
        assert classify_text(tenant_a, "printer toner empty", "topic").source != "model"
    assert sent == [((tenant_a.pk,), {"kinds": ["topic"]})]  # once, not per ticket
    with tenant_context(tenant_a):
        assert classify.retrain_due("topic") == "unreadable"
        classify.train("topic")
    assert classify_text(tenant_a, "printer toner empty", "topic").source == "model"


# --- Tenant isolation -------------------------------------------------------------------------


def test_another_tenants_model_and_labels_are_never_used(tenant_a, tenant_b):
    printers_model(tenant_b)
    assert classify_text(tenant_b, "printer toner empty", "topic").source == "model"
    found = classify_text(tenant_a, "printer toner empty", "topic")
    assert found.source != "model" and found.label != "printers"
    with tenant_context(tenant_b):
        b_blob = ClassifierModel.objects.get(kind="topic").blob
    with tenant_context(tenant_a):
        assert classify.train("topic") is None  # B's 40 labels do not count here
        assert training.training_data("topic")[0] == []
        # B's sealed model copied into A's row is refused (the MAC names tenant B).
        ClassifierModel.objects.create(kind="topic", blob=b_blob, labels=["printers"], samples=1)
    found = classify_text(tenant_a, "printer toner empty", "topic")
    assert found.source != "model"


def test_classifying_another_tenants_ticket_raises(tenant_a, tenant_b):
    from helpdesk.tenancy.context import CrossTenantWriteError

    ticket = make_ticket(tenant_b, subject="打印机")
    with tenant_context(tenant_a), pytest.raises(CrossTenantWriteError):
        classify.classify(ticket, "打印机", "topic")


# --- Retraining -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_retraining_is_idempotent_and_fans_out_per_tenant(tenant_a, tenant_b, monkeypatch):
    labelled(tenant_a, PRINTERS, "printers")
    labelled(tenant_a, SCANNERS, "scanners")
    labelled(tenant_b, PRINTERS[:3], "printers")  # too few: never due
    assert training.tenants_due() == [tenant_a.pk]
    sent = []
    monkeypatch.setattr(tasks.train_classifiers, "delay", lambda *a, **k: sent.append((a, k)))
    assert tasks.retrain_classifiers() == 1
    assert sent == [((tenant_a.pk,), {})]
    first = tasks.train_classifiers(tenant_a.pk)
    assert first == {"type": "unchanged", "topic": "trained (new)"}
    with tenant_context(tenant_a):
        trained_at = ClassifierModel.objects.get(kind="topic").trained_at
    assert tasks.train_classifiers(tenant_a.pk) == {"type": "unchanged", "topic": "unchanged"}
    assert training.tenants_due() == []
    with tenant_context(tenant_a):
        assert ClassifierModel.objects.get(kind="topic").trained_at == trained_at
        assert ClassifierModel.objects.count() == 1
        # One changed label is not enough by itself; a day later it is ("nightly-ish").
        TrainingLabel.objects.filter(label="printers").first().save()
        assert classify.retrain_due("topic") is None
        day = classify.base.RETRAIN_EVERY
        TrainingLabel.objects.update(created_at=F("created_at") - day)
        TrainingLabel.objects.filter(label="printers").first().save()
        ClassifierModel.objects.update(trained_at=F("trained_at") - day)
        classify.forget_models()
        assert classify.retrain_due("topic") == "age"
    assert training.tenants_due() == [tenant_a.pk]
    assert tasks.train_classifiers(tenant_a.pk)["topic"] == "trained (age)"


# --- Corrections ------------------------------------------------------------------------------


@pytest.fixture
def agent_client(client, tenant_a, agent):
    return sign_in(client, agent, tenant_a)


def test_correction_sets_the_field_and_upserts_the_label(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a, subject="My parcel", body="Where is it?")
    url = reverse("tickets:classification", kwargs={"number": ticket.number})
    response = agent_client.post(url, {"kind": "type", "label": "complaint"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ticket-classification"' in html and 'id="ticket-properties"' in html
    assert 'id="ticket-properties"' in html and 'hx-swap-oob="true"' in html
    assert "Saved: the classifier learns from it." in html
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert ticket.category == "complaint"
        assert ticket.classification["type"]["source"] == "agent"
        label = TrainingLabel.objects.get(ticket=ticket, kind="type")
        assert (label.label, label.labelled_by) == ("complaint", agent)
        event = TicketEvent.objects.get(ticket=ticket, kind="category")
        assert (event.reason, event.actor, event.data["new"]) == ("corrected classification",
                                                                 agent, "complaint")  # fmt: skip
    # A second word on the same ticket replaces the first label; the topic too.
    agent_client.post(url, {"kind": "type", "label": "suggestion"}, **HTMX)
    agent_client.post(url, {"kind": "topic", "label": "shipping"})
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert (ticket.category, ticket.topic) == ("suggestion", "shipping")
        labels = dict(TrainingLabel.objects.filter(ticket=ticket).values_list("kind", "label"))
        assert labels == {"type": "suggestion", "topic": "shipping"}
        topic_event = TicketEvent.objects.get(ticket=ticket, kind="topic")
        assert topic_event.reason == "corrected classification"


def test_confirming_records_a_label_and_bad_labels_change_nothing(agent_client, tenant_a):
    ticket = make_ticket(tenant_a, subject="退款", body="退款还没到账")
    url = reverse("tickets:classification", kwargs={"number": ticket.number})
    response = agent_client.post(url, {"kind": "type", "label": "inquiry"})  # "this is right"
    assert response.status_code == 302
    for bad in ({"kind": "type", "label": "urgent"}, {"kind": "topic", "label": "nonsense"}):
        assert agent_client.post(url, bad, **HTMX).status_code == 422
    assert agent_client.post(url, {"kind": "colour", "label": "red"}).status_code == 404
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert (ticket.category, ticket.topic, ticket.version) == ("inquiry", "", 1)
        assert list(TrainingLabel.objects.values_list("kind", "label")) == [("type", "inquiry")]
        assert not TicketEvent.objects.filter(ticket=ticket, kind="category").exists()


def test_enough_corrections_retrain_on_commit(tenant_a, agent, monkeypatch,
                                              django_capture_on_commit_callbacks):  # fmt: skip
    printers_model(tenant_a)
    monkeypatch.setattr(training, "RETRAIN_AFTER_CHANGES", 2)
    sent = []
    monkeypatch.setattr(tasks.train_classifiers, "delay", lambda *a, **k: sent.append((a, k)))
    first, second = make_ticket(tenant_a, subject="Printer noise"), make_ticket(tenant_a)
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        classify.correct(ticket=first, kind="topic", label="printers", actor=agent)
    assert sent == []  # one label changed since the training
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        classify.correct(ticket=second, kind="topic", label="scanners", actor=agent)
    assert sent == [((tenant_a.pk,), {"kinds": ["topic"]})]


# --- The pipeline step ------------------------------------------------------------------------


def test_apply_sets_unset_fields_records_and_feeds_routing_facts(tenant_a):
    ticket = make_ticket(tenant_a, subject="投诉：快递太慢", body="包裹一周了还没到，太差了")
    with tenant_context(tenant_a):
        ticket = Ticket.objects.select_related("requester").get(pk=ticket.pk)
        facts = facts_for(ticket, body="包裹一周了还没到，太差了")
        results = classify.apply(ticket, facts)
        assert results["type"].label == "complaint"
        assert (facts.category, facts.topic) == ("complaint", "shipping")
        ticket.refresh_from_db()
        assert (ticket.category, ticket.topic, ticket.version) == ("complaint", "shipping", 2)
        assert ticket.classification["type"]["words"] == ["投诉", "太差"]
        event = TicketEvent.objects.get(ticket=ticket, kind="classified")
        assert event.reason == "keyword rules" and event.actor is None
        assert event.data["set"] == {"category": {"old": "inquiry", "new": "complaint"},
                                     "topic": {"old": "", "new": "shipping"}}  # fmt: skip
        text = classify.event_text("classified", event.data, "Automation")
        assert "Complaint" in text and "投诉, 太差" in text and "75%" in text
    # A category chosen already (not the default) is left alone, only recorded.
    other = make_ticket(tenant_a, subject="投诉", body="太差", category="suggestion")
    with tenant_context(tenant_a):
        other = Ticket.objects.select_related("requester").get(pk=other.pk)
        classify.apply(other, facts_for(other, body="太差"))
        other.refresh_from_db()
        assert other.category == "suggestion" and other.classification["type"]["label"] == \
            "complaint"  # fmt: skip
        event = TicketEvent.objects.get(ticket=other, kind="classified")
        assert "left as it was" in classify.event_text("classified", event.data, "Automation")


def test_apply_leaves_nothing_on_the_timeline_when_nothing_matched(tenant_a):
    ticket = make_ticket(tenant_a, subject="xyz", body="qwerty")
    with tenant_context(tenant_a):
        ticket = Ticket.objects.select_related("requester").get(pk=ticket.pk)
        classify.apply(ticket, facts_for(ticket, body="qwerty"))
        ticket.refresh_from_db()
        assert ticket.classification["type"] == {"label": "", "confidence": 0.0,
                                                 "source": "none", "words": []}  # fmt: skip
        assert (ticket.version, ticket.category) == (1, "inquiry")
        assert not TicketEvent.objects.filter(ticket=ticket, kind="classified").exists()


# --- The ticket page --------------------------------------------------------------------------


def test_ticket_page_says_nothing_was_chosen_when_the_classifier_found_nothing(
    agent_client, tenant_a
):
    ticket = make_ticket(tenant_a, subject="xyz", body="qwerty")
    with tenant_context(tenant_a):
        ticket = Ticket.objects.select_related("requester").get(pk=ticket.pk)
        classify.apply(ticket, facts_for(ticket, body="qwerty"))
    html = agent_client.get(reverse("tickets:detail", kwargs={"number": ticket.number}))
    html = html.content.decode()
    assert "Chosen by ." not in html and "· 0%" not in html
    assert "Not classified automatically." in html


def test_ticket_page_shows_type_topic_confidence_words_and_choices(agent_client, tenant_a):
    ticket = make_ticket(tenant_a, subject="投诉：太差了", body="快递员把包裹扔在门口")
    with tenant_context(tenant_a):
        ticket = Ticket.objects.select_related("requester").get(pk=ticket.pk)
        classify.apply(ticket, facts_for(ticket, body="快递员把包裹扔在门口"))
    html = agent_client.get(reverse("tickets:detail", kwargs={"number": ticket.number})).content
    html = html.decode()
    assert "<strong>Complaint</strong> · 75%" in html
    assert "投诉, 太差" in html and "Chosen by keyword rules." in html
    assert "Shipping and returns" in html
    assert 'name="label" value="suggestion"' in html and 'name="label" value="billing"' in html
    timeline = agent_client.get(
        reverse("tickets:detail", kwargs={"number": ticket.number}) + "?timeline=1"
    ).content.decode()
    assert "Automation classified the ticket" in timeline


# --- Settings › Classification -----------------------------------------------------------------


def _audits(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action__startswith="classification.")
                    .order_by("id").values_list("action", flat=True))  # fmt: skip


def test_settings_rules_add_edit_delete_copy_with_audit(client, tenant_a, admin):
    sign_in(client, admin, tenant_a)
    page = reverse("settings:classification")
    html = client.get(page).content.decode()
    assert "Built-in" in html and "投诉" in html and "Not trained yet" in html
    data = {"kind": "type", "type-label": "complaint", "type-keywords": "Refund now，差评\n退钱",
            "type-position": ""}  # fmt: skip
    response = client.post(page, data)
    assert response.status_code == 302
    with tenant_context(tenant_a):
        rule = KeywordRule.objects.get()
        assert (rule.kind, rule.label, rule.keywords, rule.position) == (
            "type", "complaint", ["refund now", "差评", "退钱"], 10)  # fmt: skip
    bad = client.post(page, {"kind": "type", "type-label": "urgent", "type-keywords": "x"})
    assert bad.status_code == 422
    edit = reverse("settings:classification_rule", kwargs={"keyword_rule_id": rule.pk})
    assert client.get(edit).status_code == 200
    client.post(edit, {"rule-label": "suggestion", "rule-keywords": "希望", "rule-position": "5"})
    with tenant_context(tenant_a):
        rule.refresh_from_db()
        assert (rule.label, rule.keywords, rule.position) == ("suggestion", ["希望"], 5)
    client.post(reverse("settings:classification_rule_delete",
                        kwargs={"keyword_rule_id": rule.pk}))  # fmt: skip
    client.post(reverse("settings:classification_defaults"), {"kind": "topic"})
    client.post(reverse("settings:classification_defaults"), {"kind": "topic"})  # once only
    with tenant_context(tenant_a):
        assert not KeywordRule.objects.filter(kind="type").exists()
        topics = list(KeywordRule.objects.filter(kind="topic").values_list("label", flat=True))
    assert topics == [rule.label for rule in classify.BUILTIN_RULES["topic"]]
    assert _audits(tenant_a) == [
        "classification.rule_created", "classification.rule_updated",
        "classification.rule_deleted", "classification.rules_copied",
    ]  # fmt: skip


def test_settings_are_for_admins_only(client, tenant_a, agent):
    sign_in(client, agent, tenant_a)
    assert client.get(reverse("settings:classification")).status_code == 403
    assert client.post(reverse("settings:classification_train"), {"kind": "type"}).status_code \
        == 403  # fmt: skip


def test_retrain_now_queues_and_shows_progress(client, tenant_a, admin, monkeypatch,
                                               django_capture_on_commit_callbacks):  # fmt: skip
    labelled(tenant_a, PRINTERS, "printers")
    labelled(tenant_a, SCANNERS, "scanners")
    sent = []
    monkeypatch.setattr(tasks.train_classifier, "delay", lambda *a, **k: sent.append((a, k)))
    sign_in(client, admin, tenant_a)
    url = reverse("settings:classification_train")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"kind": "topic"}, **HTMX)
    assert sent == [((tenant_a.pk,), {"kind": "topic"})]
    html = response.content.decode()
    assert "Queued…" in html and 'hx-trigger="every 2s"' in html
    assert tasks.train_classifier(tenant_a.pk, kind="topic")["trained"] is True
    html = client.get(url + "?kind=topic", **HTMX).content.decode()
    assert "Trained." in html and "every 2s" not in html and "In use" in html
    assert "100%" in html and "40 labels" in html
    assert _audits(tenant_a) == ["classification.retrain_requested"]


# --- Demo labels ------------------------------------------------------------------------------


def test_seed_labels_labels_worked_tickets_and_the_pipeline_leaves_them(tenant_a, agent):
    worked = make_ticket(tenant_a, subject="Refund", body="Where is my refund?",
                         category="complaint", tags=["refund", "billing"],
                         assignee=agent)  # fmt: skip
    fresh = make_ticket(tenant_a, subject="New one", body="hello")
    assert classify.seed_labels(tenant_a, train_models=False) == 2
    assert classify.seed_labels(tenant_a, train_models=False) == 0  # idempotent
    with tenant_context(tenant_a):
        worked.refresh_from_db()
        assert worked.topic == "billing" and worked.classification["topic"]["source"] == "agent"
        labels = set(TrainingLabel.objects.values_list("ticket_id", "kind", "label"))
        assert labels == {(worked.pk, "type", "complaint"), (worked.pk, "topic", "billing")}
        assert not TrainingLabel.objects.filter(ticket=fresh).exists()
        ticket = Ticket.objects.select_related("requester").get(pk=worked.pk)
        assert classify.apply(ticket, facts_for(ticket, body="unacceptable!")) == {}
