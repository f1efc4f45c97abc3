"""Inbound SMTP end to end: a REAL `manage.py run_smtpd` process on a free port, against the test
database as the runtime role, fed with smtplib. Mail lands in the tenant its recipient belongs
to and nowhere else; resent bytes are a duplicate, not a second ticket; unknown recipients get
550; mail that cannot be processed is still accepted and kept, flagged failed."""

from __future__ import annotations

import asyncio
import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.conf import settings

from channels_in import smtpd
from channels_in.addresses import tenant_for_address
from channels_in.models import InboundEmail, Mailbox
from helpdesk.tenancy.context import tenant_context
from tests.worker import ROOT, _url, free_port
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])
BASE = settings.HELPDESK_BASE_DOMAIN


@contextmanager
def smtpd_process() -> Iterator[tuple[subprocess.Popen, int]]:
    """Start `manage.py run_smtpd` on a free port against the test database (as the runtime
    role, like tests/worker.py starts Celery); wait until it listens; stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _url("default"),
        "DATABASE_OWNER_URL": _url("owner"),
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "HELPDESK_BASE_DOMAIN": BASE,
        "HELPDESK_TESTING": "true",
        "DJANGO_DEBUG": "true",
    }
    (ROOT / ".data").mkdir(exist_ok=True)
    path = ROOT / ".data" / f"test-smtpd-{os.getpid()}.log"
    log = open(path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_smtpd", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = path.read_text()
            if f"listening on 127.0.0.1:{port}" in text:
                break
            if process.poll() is not None:
                raise RuntimeError(f"run_smtpd exited with {process.returncode}:\n{text}")
            time.sleep(0.1)
        else:
            raise RuntimeError(f"run_smtpd did not listen within 60 s:\n{path.read_text()}")
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(django_db_setup) -> Iterator[tuple[subprocess.Popen, int]]:
    with smtpd_process() as running:
        yield running


@pytest.fixture
def smtp(server) -> Iterator[smtplib.SMTP]:
    process, port = server
    assert process.poll() is None, "run_smtpd died during an earlier test"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        yield client


@pytest.fixture
def bravo_mailbox(tenant_b) -> Mailbox:
    with tenant_context(tenant_b):
        return Mailbox.objects.create(
            name="Help", address="Help@Bravo-Corp.example", kind=Mailbox.Kind.FORWARD
        )


def mail(subject: str, *, to: str, sender: str = "carla@customer.test") -> bytes:
    message = EmailMessage()
    message["From"] = f"Carla Customer <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.test")
    message.set_content(f"{subject}: please help.\n")
    return message.as_bytes()


def rows(tenant) -> tuple[list[Ticket], list[InboundEmail]]:
    with tenant_context(tenant):
        return list(Ticket.objects.order_by("id")), list(InboundEmail.objects.order_by("id"))


# --- through the real server ------------------------------------------------------------------


@pytest.mark.worker
def test_support_address_opens_a_ticket_in_its_tenant(smtp, tenant_a, tenant_b):
    to = f"support@alpha.{BASE}"
    refused = smtp.sendmail("carla@customer.test", [to], mail("Printer on fire", to=to))
    assert refused == {}
    [ticket], [stored] = rows(tenant_a)
    assert ticket.subject == "Printer on fire"
    assert ticket.channel == Ticket.Channel.EMAIL
    assert stored.via == InboundEmail.Via.SMTP
    assert stored.status == InboundEmail.Status.PROCESSED
    assert stored.ticket_id == ticket.pk and stored.mailbox_id is None
    assert rows(tenant_b) == ([], [])


@pytest.mark.worker
def test_tagged_support_address_and_case_reach_the_tenant(smtp, tenant_a):
    to = f"Support+billing@ALPHA.{BASE.upper()}"
    smtp.sendmail("carla@customer.test", [to], mail("Invoice question", to=to))
    [ticket], _ = rows(tenant_a)
    assert ticket.subject == "Invoice question"


@pytest.mark.worker
def test_mailbox_address_lands_in_its_tenant_only(smtp, tenant_a, tenant_b, bravo_mailbox):
    to = "help@bravo-corp.example"  # configured as Help@Bravo-Corp.example
    smtp.sendmail("carla@customer.test", [to], mail("退款申请", to=to))
    [ticket], [stored] = rows(tenant_b)
    assert ticket.subject == "退款申请"
    assert stored.mailbox_id == bravo_mailbox.pk
    assert rows(tenant_a) == ([], [])
    everywhere = Ticket.objects.all_tenants()
    assert list(everywhere.values_list("tenant_id", flat=True)) == [tenant_b.pk]


@pytest.mark.worker
def test_same_message_twice_is_one_ticket_and_a_duplicate(smtp, tenant_a):
    to = f"support@alpha.{BASE}"
    raw = mail("Sent twice", to=to)
    smtp.sendmail("carla@customer.test", [to], raw)
    smtp.sendmail("carla@customer.test", [to], raw)
    [ticket], [first, second] = rows(tenant_a)
    assert first.status == InboundEmail.Status.PROCESSED
    assert second.status == InboundEmail.Status.DUPLICATE
    assert second.ticket_id == ticket.pk
    with tenant_context(tenant_a):
        assert Message.objects.filter(ticket=ticket).count() == 1


@pytest.mark.worker
def test_unknown_recipients_are_refused_with_550(smtp, tenant_a):
    for to in ["nobody@example.com", f"support@nosuch.{BASE}", f"sales@alpha.{BASE}"]:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("carla@customer.test", [to], mail("Hello?", to=to))
        code, text = refused.value.recipients[to]
        assert code == 550 and b"5.1.1" in text
    assert InboundEmail.objects.all_tenants().count() == 0


@pytest.mark.worker
def test_refused_recipient_does_not_stop_the_accepted_one(smtp, tenant_a):
    good, bad = f"support@alpha.{BASE}", "nobody@example.com"
    refused = smtp.sendmail("carla@customer.test", [bad, good], mail("Mixed", to=good))
    assert refused == {bad: (550, b"5.1.1 No such mailbox here")}
    [ticket], _ = rows(tenant_a)
    assert ticket.subject == "Mixed"


@pytest.mark.worker
def test_mail_without_from_is_accepted_and_kept_as_failed(smtp, tenant_a):
    to = f"support@alpha.{BASE}"
    raw = f"To: {to}\r\nSubject: Who am I\r\n\r\nNo sender here.\r\n".encode()
    smtp.ehlo()
    assert smtp.mail("carla@customer.test")[0] == 250
    assert smtp.rcpt(to)[0] == 250
    assert smtp.data(raw) == (250, b"Message accepted")
    tickets, [stored] = rows(tenant_a)
    assert tickets == []
    assert stored.status == InboundEmail.Status.FAILED
    assert stored.error
    assert bytes(stored.raw).startswith(raw.rstrip(b"\r\n"))


@pytest.mark.worker
def test_recipients_of_two_tenants_get_one_ticket_each(smtp, tenant_a, tenant_b, bravo_mailbox):
    alpha, bravo = f"support@alpha.{BASE}", "help+orders@bravo-corp.example"
    raw = mail("Shared problem", to=f"{alpha}, {bravo}")
    # and a second recipient of alpha: still one delivery to alpha
    refused = smtp.sendmail("carla@customer.test", [alpha, bravo, f"Support@alpha.{BASE}"], raw)
    assert refused == {}
    for tenant in (tenant_a, tenant_b):
        [ticket], [stored] = rows(tenant)
        assert ticket.subject == "Shared problem"
        assert stored.status == InboundEmail.Status.PROCESSED
    assert rows(tenant_b)[1][0].mailbox_id == bravo_mailbox.pk


@pytest.mark.worker
def test_too_big_mail_is_refused(server, tenant_a):
    _, port = server
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == str(50 * 1024 * 1024)
        code, _ = client.mail("carla@customer.test", options=[f"SIZE={60 * 1024 * 1024}"])
        assert code == 552
    assert InboundEmail.objects.all_tenants().count() == 0


# --- the address rules and the handler, in process ---------------------------------------------


def test_address_rules(tenant_a, tenant_b, bravo_mailbox):
    assert tenant_for_address(f"support@alpha.{BASE}") == (tenant_a, None)
    assert tenant_for_address(f"support+t12.abcdefghij@alpha.{BASE}") == (tenant_a, None)
    found, mailbox = tenant_for_address("HELP+tag@bravo-corp.EXAMPLE")
    assert found == tenant_b and mailbox == bravo_mailbox
    assert mailbox._state.db == "default"  # writes that point at it stay on the runtime role
    for nobody in [
        f"support@{BASE}", f"support@x.alpha.{BASE}", f"help@alpha.{BASE}",
        "help@elsewhere.example", "not an address", "", "help@",
    ]:  # fmt: skip
        assert tenant_for_address(nobody) is None, nobody


def test_inactive_tenants_and_mailboxes_own_nothing(tenant_a, tenant_b, bravo_mailbox):
    with tenant_context(tenant_b):
        Mailbox.objects.filter(pk=bravo_mailbox.pk).update(is_active=False)
    assert tenant_for_address("help@bravo-corp.example") is None
    type(tenant_a).objects.filter(pk=tenant_a.pk).update(is_active=False)
    assert tenant_for_address(f"support@alpha.{BASE}") is None


def test_a_mailbox_cannot_claim_another_tenants_subdomain(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        Mailbox.objects.create(name="Steal", address=f"billing@alpha.{BASE}", kind="forward")
    assert tenant_for_address(f"billing@alpha.{BASE}") is None
    with tenant_context(tenant_a):
        own = Mailbox.objects.create(name="Own", address=f"sales@alpha.{BASE}", kind="forward")
    assert tenant_for_address(f"sales@alpha.{BASE}") == (tenant_a, own)


def test_storage_error_asks_the_sender_to_retry(monkeypatch, tenant_a):
    def broken(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(smtpd, "deliver", broken)
    handler = smtpd.InboundMailHandler()
    envelope = smtpd.Envelope()
    envelope.original_content = b"From: a@b.test\r\n\r\nhi\r\n"

    async def session() -> tuple[str, str]:
        accepted = await handler.handle_RCPT(None, smtpd.Session(None), envelope,
                                             f"support@alpha.{BASE}", [])  # fmt: skip
        return accepted, await handler.handle_DATA(None, None, envelope)

    try:
        assert asyncio.run(session()) == ("250 OK", "451 4.3.0 Try again later")
    finally:
        handler.close()


def test_server_limits():
    handler = smtpd.InboundMailHandler()
    try:
        server = smtpd.make_server(handler, hostname="mx.example")
    finally:
        handler.close()
    assert server.data_size_limit == 50 * 1024 * 1024
    assert server.hostname == "mx.example"
    assert server.__ident__ == "Helpdesk ESMTP"
