from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, make_ticket
from tests.helpers import task_callbacks
from tickets import services
from tickets.attachments import AttachmentError
from tickets.models import Attachment, Message, Ticket, TicketEvent, TicketTag
from tickets.search import query_for
from tickets.selectors import (
    InboxFilters,
    capped_count,
    inbox_page,
    ticket_filter,
    ticket_number_in,
    view_counts,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_numbers_are_per_tenant(tenant_a, tenant_b):
    a1, a2 = make_ticket(tenant_a), make_ticket(tenant_a)
    b1 = make_ticket(tenant_b)
    assert (a1.number, a2.number, b1.number) == (1, 2, 1)


def test_create_stores_first_message_event_and_search(tenant_a):
    ticket = make_ticket(tenant_a, subject="退款申请", body="我的订单还没有发货，请帮忙查询退款")
    with tenant_context(tenant_a):
        message = Message.objects.get(ticket=ticket)
        assert message.direction == Message.Direction.IN
        assert message.body_html.startswith("<p>")
        assert TicketEvent.objects.filter(ticket=ticket, kind="created").exists()
        assert Ticket.objects.filter(search_vector=query_for("发货")).exists()


def test_reply_enqueues_delivery_and_sets_first_response(
    tenant_a, agent, django_capture_on_commit_callbacks
):
    ticket = make_ticket(tenant_a, channel=Ticket.Channel.EMAIL)
    with tenant_context(tenant_a), django_capture_on_commit_callbacks() as callbacks:
        message = services.ticket_reply(
            ticket=ticket, author=agent, body_text="On it.", set_status=Ticket.Status.PENDING
        )
    assert len(task_callbacks(callbacks)) == 1
    assert message.delivery_status == Message.Delivery.PENDING
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.status == Ticket.Status.PENDING


def test_empty_reply_is_refused(tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a), pytest.raises(services.TicketError):
        services.ticket_reply(ticket=ticket, author=agent, body_text="   ")


def test_user_html_is_sanitised(tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        message = services.ticket_reply(
            ticket=ticket,
            author=agent,
            body_html='<p onclick="x()">Hi<script>alert(1)</script>'
            '<a href="javascript:x">y</a></p>',
        )
    assert "script" not in message.body_html
    assert "onclick" not in message.body_html
    assert "javascript" not in message.body_html


def test_stale_edit_is_a_conflict_not_a_silent_overwrite(tenant_a, agent, admin):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        seen_by_agent = Ticket.objects.get(pk=ticket.pk)
        seen_by_admin = Ticket.objects.get(pk=ticket.pk)
        services.ticket_update(
            ticket=seen_by_admin, actor=admin, version=seen_by_admin.version, priority="urgent"
        )
        with pytest.raises(services.ConflictError) as conflict:
            services.ticket_update(
                ticket=seen_by_agent, actor=agent, version=seen_by_agent.version, priority="low"
            )
        assert conflict.value.ticket.priority == "urgent"
        assert Ticket.objects.get(pk=ticket.pk).priority == "urgent"


def test_update_logs_one_event_per_field(tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        changed = services.ticket_update(
            ticket=ticket, actor=agent, status="open", priority="high", assignee=agent
        )
        assert set(changed) == {"status", "priority", "assignee"}
        kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert {"status", "priority", "assignee"} <= kinds


def test_closing_needs_solving_first(tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a), pytest.raises(services.TicketError):
        services.ticket_update(ticket=ticket, actor=agent, status="closed")


def test_tags_merge_and_split(tenant_a, agent):
    a = make_ticket(tenant_a, tags=["billing"])
    b = make_ticket(tenant_a, requester=a.requester, subject="Again")
    with tenant_context(tenant_a):
        assert services.ticket_set_tags(ticket=a, names=["Billing", "vip "], actor=agent) == [
            "billing",
            "vip",
        ]
        services.ticket_merge(source=b, target=a, actor=agent)
        b.refresh_from_db()
        assert b.merged_into_id == a.pk and b.status == Ticket.Status.CLOSED
        assert Message.objects.filter(ticket=a).count() == 2
        message = Message.objects.filter(ticket=a).last()
        split = services.message_split(message=message, actor=agent, subject="Separate issue")
        assert split.number == 3
        assert Message.objects.filter(ticket=split).count() == 1
        assert TicketTag.objects.filter(ticket=a).count() == 2


def test_customer_reply_reopens_solved_ticket(tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=agent, status="solved")
        services.ticket_add_inbound(
            ticket=ticket, contact=ticket.requester, body_text="Still broken"
        )
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN
        assert ticket.solved_at is None


def test_attachments_validated_and_named_safely(tenant_a, agent, settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 1024
    ticket = make_ticket(tenant_a)
    ok = SimpleUploadedFile("../../re\u202eport.pdf", b"%PDF-1.4 tiny", "application/pdf")
    with tenant_context(tenant_a):
        services.ticket_add_note(ticket=ticket, author=agent, body_text="see", attachments=[ok])
        attachment = Attachment.objects.get()
        assert attachment.filename == "report.pdf"
        assert attachment.file.name.startswith(f"tenants/{tenant_a.pk}/")
        too_big = SimpleUploadedFile("big.pdf", b"x" * 2048, "application/pdf")
        with pytest.raises(AttachmentError):
            services.ticket_add_note(
                ticket=ticket, author=agent, body_text="x", attachments=[too_big]
            )
        exe = SimpleUploadedFile("setup.exe", b"MZ", "application/octet-stream")
        with pytest.raises(AttachmentError):
            services.ticket_add_note(ticket=ticket, author=agent, body_text="x", attachments=[exe])


def test_search_finds_chinese_english_partial_and_number(tenant_a, agent):
    requester = ContactFactory(tenant=tenant_a, name="王小明", email="xm@example.cn", user=None)
    make_ticket(tenant_a, requester=requester, subject="退款申请", body="我的订单还没有发货")
    make_ticket(tenant_a, subject="Password reset", body="Cannot log in since Tuesday")
    make_ticket(tenant_a, subject="Invoice copy", body="Please send the invoice for March")
    with tenant_context(tenant_a):

        def subjects(q):
            return {t.subject for t in ticket_filter(InboxFilters(q=q), user=agent)}

        assert subjects("退款") == {"退款申请"}
        assert subjects("发货") == {"退款申请"}
        assert subjects("王小明") == {"退款申请"}
        assert subjects("passw") == {"Password reset"}
        assert subjects("tuesday") == {"Password reset"}
        assert subjects("invoise") == {"Invoice copy"}  # typo: trigram
        assert subjects("nothing-like-this") == set()
    assert ticket_number_in("#123") == 123 and ticket_number_in("abc") is None


def test_inbox_keyset_pages_cover_everything_once(tenant_a, agent):
    for i in range(7):
        make_ticket(tenant_a, subject=f"T{i}")
    with tenant_context(tenant_a):
        seen, cursor = [], None
        while True:
            page = inbox_page(user=agent, filters=InboxFilters(), cursor=cursor, limit=3)
            seen += [t.number for t in page.tickets]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert sorted(seen) == list(range(1, 8))
        assert len(seen) == 7
        assert view_counts(user=agent)["unassigned"] == 7
        assert capped_count(Ticket.objects.all(), cap=5) == 6


def test_filters_ignore_unknown_and_reject_bad_values(tenant_a, agent):
    filters = InboxFilters.from_query(
        {"status": "open,bogus", "sort": "assignee__password", "team": "x", "evil": "1"}
    )
    assert filters.choices == {"status": ["open"]}
    assert filters.sort == "activity"
    assert "sort=assignee__password" in filters.errors
    assert "status=bogus" in filters.errors


def test_canned_response_placeholders(tenant_a, agent):
    from tickets.canned import canned_render
    from tickets.models import CannedResponse

    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        canned = CannedResponse.objects.create(
            title="Hi",
            body="您好 {{ contact.name }}，工单 #{{ ticket.number }} "
            "由 {{ agent.name }} 处理。{{ x.y }}",
        )
        text = canned_render(canned=canned, ticket=ticket, agent=agent)
    assert ticket.requester.name in text
    assert f"#{ticket.number}" in text
    assert agent.get_full_name() in text
    assert "{{ x.y }}" in text
