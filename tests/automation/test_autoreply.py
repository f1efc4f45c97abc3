"""Acknowledgements: the template that applies, what it promises (SLA, business hours), the
deflection hook, loop safety, and the mail that goes out (Auto-Submitted)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import translation

from channels_in.email import flag_bounced, receive_email
from helpdesk.tenancy.context import tenant_context
from tests.sla.factories import BusinessCalendarFactory, SLAPolicyFactory
from tickets.automation import autoreply, jobs
from tickets.automation.models import AutomationJob, AutoReply
from tickets.models import Message, Ticket, TicketEvent
from tickets.outbound import build_email
from tickets.views.ticket import event_text

pytestmark = pytest.mark.django_db

BODY = ("Hello {{ requester.name }}, we got your request #{{ ticket.number }}.\n\n"
        "{{ sla.first_response }}\n\n{{ kb.articles }}\n\nThe support team")  # fmt: skip


def mail(subject: str, sender: str = "li.na@example.cn", headers: str = "") -> bytes:
    return (f"From: Li Na <{sender}>\r\nTo: support@alpha.localhost\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash((subject, sender, headers)))}@example.cn>\r\n{headers}"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "My parcel is late.\r\n").encode()  # fmt: skip


def run_pending() -> None:
    for pk in AutomationJob.objects.filter(done_at__isnull=True).values_list("pk", flat=True):
        jobs.run(pk)


def auto_replies(ticket: Ticket) -> list[Message]:
    return list(Message.objects.filter(ticket=ticket, direction="out", author_user__isnull=True))


def test_the_most_specific_template_wins(tenant_a):
    with tenant_context(tenant_a):
        AutoReply.objects.create(name="Any", subject="s", body="b")
        AutoReply.objects.create(name="Chinese", language="zh-hans", subject="s", body="b")
        AutoReply.objects.create(name="Mail", channel="email", subject="s", body="b")
        AutoReply.objects.create(name="Chinese mail", channel="email", language="zh-hans",
                                 subject="s", body="b")  # fmt: skip
        AutoReply.objects.create(name="Off", channel="web", language="en", subject="s", body="b",
                                 is_active=False)  # fmt: skip
        pick = autoreply.template_for
        assert pick("email", "zh-hans").name == "Chinese mail"
        assert pick("email", "en").name == "Mail"
        assert pick("web", "zh-hans").name == "Chinese"
        assert pick("web", "en").name == "Any"
        assert pick("portal", "").name == "Any"


def test_a_new_email_is_acknowledged_with_number_promise_and_articles(tenant_a):
    found = []

    def suggest(text: str, language: str, limit: int) -> list[autoreply.Suggestion]:
        found.append((text, limit))
        return [autoreply.Suggestion("Where is my parcel?", "https://alpha.example/kb/parcel")]

    autoreply.ARTICLE_SUGGESTERS.append(suggest)
    try:
        with tenant_context(tenant_a):
            BusinessCalendarFactory(tenant=tenant_a, is_default=True, always_open=True)
            SLAPolicyFactory(tenant=tenant_a, name="Standard", business_hours=False,
                             first_response_minutes=120)  # fmt: skip
            AutoReply.objects.create(name="Thanks", subject="We got it", body=BODY)
            ticket = receive_email(mail("Parcel late"), via="smtp").ticket
            run_pending()
            (reply,) = auto_replies(ticket)
            assert f"we got your request #{ticket.number}." in reply.body_text
            assert "Hello Li Na" in reply.body_text
            assert "We aim to answer within 2 hours, by today" in reply.body_text or \
                "We aim to answer within 2 hours, by tomorrow" in reply.body_text  # fmt: skip
            assert "- Where is my parcel?: https://alpha.example/kb/parcel" in reply.body_text
            assert found and "Parcel late" in found[0][0] and found[0][1] == 3
            assert reply.delivery_status == "pending"
            ticket.refresh_from_db()
            assert ticket.status == "new" and ticket.first_response_at is None  # not an answer
            assert ticket.snippet == "My parcel is late."  # the inbox still shows the customer
            email = build_email(reply)
            assert email.extra_headers["Auto-Submitted"] == "auto-replied"
            assert email.extra_headers["X-Auto-Response-Suppress"] == "All"
            sent = TicketEvent.objects.get(ticket=ticket, kind="auto_replied")
            assert event_text(sent, {}, {}) == "Automation sent the acknowledgement “Thanks”"
            # The same job again sends nothing.
            job = AutomationJob.objects.get(ticket=ticket, event="created")
            assert jobs.run(job.pk) == "skipped"
            assert len(auto_replies(ticket)) == 1
    finally:
        autoreply.ARTICLE_SUGGESTERS.remove(suggest)


def test_suggestions_are_left_out_when_the_template_says_so(tenant_a):
    parcel = autoreply.Suggestion("Where is my parcel?", "https://alpha.example/kb/parcel")
    autoreply.ARTICLE_SUGGESTERS.append(lambda text, language, limit: [parcel])
    try:
        with tenant_context(tenant_a):
            AutoReply.objects.create(name="Plain", subject="s", body=BODY, suggest_articles=False)
            ticket = receive_email(mail("Parcel again"), via="smtp").ticket
            run_pending()
            (reply,) = auto_replies(ticket)
            assert "Where is my parcel?" not in reply.body_text
    finally:
        autoreply.ARTICLE_SUGGESTERS.pop()


def test_without_articles_or_policy_the_placeholders_leave_no_holes(tenant_a):
    with tenant_context(tenant_a):
        AutoReply.objects.create(name="Thanks", subject="We got it", body=BODY)
        ticket = receive_email(mail("No policy"), via="smtp").ticket
        run_pending()
        (reply,) = auto_replies(ticket)
        assert "\n\n\n" not in reply.body_text and "{{" not in reply.body_text
        assert reply.body_text.endswith("The support team")


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ("Auto-Submitted: auto-replied\r\n", "li.na@example.cn"),
        ("Precedence: bulk\r\n", "li.na@example.cn"),
        ("", "mailer-daemon@example.cn"),
        ("", "support@alpha.localhost"),
    ],
)
def test_machines_are_never_answered(tenant_a, headers, sender):
    with tenant_context(tenant_a):
        AutoReply.objects.create(name="Thanks", subject="We got it", body=BODY)
        ticket = receive_email(mail("Out of office", sender=sender, headers=headers),
                               via="smtp").ticket  # fmt: skip
        run_pending()
        assert auto_replies(ticket) == []
        skipped = TicketEvent.objects.get(ticket=ticket, kind="auto_reply_skipped")
        assert skipped.data["why"] == "automatic"
        assert "automatic sender" in event_text(skipped, {}, {})


def test_bounced_addresses_and_repeat_senders_get_one_reply_at_most(tenant_a):
    with tenant_context(tenant_a):
        AutoReply.objects.create(name="Thanks", subject="We got it", body=BODY)
        first = receive_email(mail("First"), via="smtp").ticket
        second = receive_email(mail("Second"), via="smtp").ticket
        flag_bounced("gone@example.cn", reason="550 no such user")
        gone = receive_email(mail("Gone", sender="gone@example.cn"), via="smtp").ticket
        run_pending()
        assert len(auto_replies(first)) == 1
        assert auto_replies(second) == []  # a loop with an unmarked autoresponder stops here
        assert TicketEvent.objects.get(ticket=second, kind="auto_reply_skipped").data["why"] \
            == "recently"  # fmt: skip
        assert auto_replies(gone) == []


def test_chat_and_tenants_without_templates_get_nothing(tenant_a, tenant_b):
    from channels_in.chat import chat_start

    with tenant_context(tenant_b):
        AutoReply.objects.create(name="Theirs", subject="s", body="b")
    with tenant_context(tenant_a):
        ticket = receive_email(mail("Quiet tenant"), via="smtp").ticket
        run_pending()
        assert auto_replies(ticket) == []
        assert not TicketEvent.objects.filter(ticket=ticket, kind__startswith="auto_repl").exists()
        AutoReply.objects.create(name="Any", subject="s", body="b")
        started = chat_start(name="Visitor", email="v@example.cn", text="Hi")
        run_pending()
        assert auto_replies(started.ticket) == []


def test_the_promise_out_of_hours_says_when_we_open(tenant_a):
    with tenant_context(tenant_a):
        BusinessCalendarFactory(tenant=tenant_a, is_default=True, timezone="Asia/Shanghai")
        SLAPolicyFactory(tenant=tenant_a, name="Office", first_response_minutes=120)
        ticket = receive_email(mail("Saturday question"), via="smtp").ticket
        saturday = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # Sat 10:00 in Shanghai
        Ticket.objects.filter(pk=ticket.pk).update(created_at=saturday)
        ticket.refresh_from_db()
        with translation.override("en"):
            text = autoreply.first_response_text(ticket, now=saturday)
        assert text == ("We are closed until Monday 09:00. We aim to answer within 2 business "
                        "hours, by Monday 11:00.")  # fmt: skip
        with translation.override("zh-hans"):
            chinese = autoreply.first_response_text(ticket, now=saturday)
        assert "09:00" in chinese and "11:00" in chinese
