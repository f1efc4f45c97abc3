"""IMAP polling against a REAL dovecot (tests/imap_server.py): mail appended over IMAP becomes
tickets of the mailbox's tenant exactly once — across repeated polls, UIDVALIDITY changes, a
crash mid-batch, concurrent polls — and login failures are recorded, never raised. The beat
fan-out is run through a real Celery worker."""

from __future__ import annotations

import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.conf import settings

from channels_in import imap
from channels_in.imap import poll_mailbox
from channels_in.models import InboundEmail, Mailbox
from channels_in.tasks import poll_all_mailboxes, poll_mailbox_task
from helpdesk.tenancy.context import tenant_context
from tests.imap_server import DovecotUnavailable, dovecot_server
from tests.worker import celery_worker, free_port, smtp_sink
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

SEEN = b"\\Seen"
USERS = {"support": "support-pass", "other": "other-pass", "idle": "idle-pass"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def server():
    try:
        with dovecot_server(USERS) as running:
            yield running
    except DovecotUnavailable as error:
        pytest.skip(f"no IMAP server for these tests: {error}")


def make_mailbox(tenant, server, user="support", **fields) -> Mailbox:
    values = {
        "name": f"{user} inbox",
        "address": f"{user}@{tenant.slug}.example.test",
        "kind": Mailbox.Kind.IMAP,
        "imap_host": server.host,
        "imap_port": server.port,
        "imap_ssl": False,
        "imap_username": user,
        "imap_password": server.users[user],
        **fields,
    }
    with tenant_context(tenant):
        return Mailbox.objects.create(**values)


def mail(subject: str, *, sender: str = "carol@customer.test", to: str = "support@x.test",
         body: str = "Hello, it is broken.") -> bytes:  # fmt: skip
    message = EmailMessage()
    message["From"] = f"Carol <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.test")
    message["Date"] = "Thu, 03 Dec 2026 09:00:00 +0000"
    message.set_content(body)
    return message.as_bytes()


def poll(tenant, mailbox: Mailbox) -> imap.PollResult:
    with tenant_context(tenant):
        return poll_mailbox(Mailbox.objects.get(pk=mailbox.pk))


def subjects(tenant) -> list[str]:
    with tenant_context(tenant):
        return sorted(Ticket.objects.values_list("subject", flat=True))


def reload(tenant, mailbox: Mailbox) -> Mailbox:
    with tenant_context(tenant):
        return Mailbox.objects.get(pk=mailbox.pk)


def test_poll_ingests_every_message_once_including_ones_already_read(tenant_a, server):
    server.append("support", mail("Printer on fire"))
    server.append("support", mail("Cannot log in"), flags=[SEEN])  # a person read it already
    server.append("support", mail("Invoice wrong"))
    mailbox = make_mailbox(tenant_a, server)

    result = poll(tenant_a, mailbox)

    assert (result.fetched, result.ingested, result.error) == (3, 3, "")
    assert subjects(tenant_a) == ["Cannot log in", "Invoice wrong", "Printer on fire"]
    with tenant_context(tenant_a):
        stored = list(InboundEmail.objects.all())
    assert len(stored) == 3
    assert {(s.via, s.mailbox_id, s.status) for s in stored} == {
        (InboundEmail.Via.IMAP, mailbox.pk, InboundEmail.Status.PROCESSED)
    }
    flags = server.flags("support")
    assert len(flags) == 3 and all(SEEN in f for f in flags.values())  # left in INBOX, read
    mailbox = reload(tenant_a, mailbox)
    assert mailbox.last_uid == max(flags)
    assert mailbox.uidvalidity == server.uidvalidity("support")
    assert mailbox.last_error == "" and mailbox.last_polled_at is not None

    again = poll(tenant_a, mailbox)  # nothing new on the server
    assert (again.fetched, again.error) == (0, "")
    with tenant_context(tenant_a):
        assert InboundEmail.objects.count() == 3 and Ticket.objects.count() == 3

    server.append("support", mail("Arrived later"))
    later = poll(tenant_a, mailbox)
    assert (later.fetched, later.ingested) == (1, 1)
    assert "Arrived later" in subjects(tenant_a) and len(subjects(tenant_a)) == 4
    # Marking a message unread again in a mail client does not make us take it twice.
    with server.client("support") as client:
        client.select_folder("INBOX")
        client.remove_flags(client.search(["ALL"]), [SEEN])
    assert poll(tenant_a, mailbox).fetched == 0
    assert len(subjects(tenant_a)) == 4


def test_move_to_processed_folder_creates_it(tenant_a, server):
    for n in range(3):
        server.append("support", mail(f"Move me {n}"))
    mailbox = make_mailbox(
        tenant_a, server, after_fetch=Mailbox.AfterFetch.MOVE, processed_folder="Helpdesk Done"
    )
    result = poll(tenant_a, mailbox)
    assert (result.fetched, result.ingested, result.error) == (3, 3, "")
    assert server.flags("support", "INBOX") == {}
    assert len(server.flags("support", "Helpdesk Done")) == 3
    assert subjects(tenant_a) == ["Move me 0", "Move me 1", "Move me 2"]
    server.append("support", mail("Move me 3"))
    assert poll(tenant_a, mailbox).fetched == 1
    assert len(server.flags("support", "Helpdesk Done")) == 4
    assert len(subjects(tenant_a)) == 4


def test_move_falls_back_to_copy_delete_expunge_without_move(tenant_a, server, monkeypatch):
    original = imap.IMAPClient.has_capability
    monkeypatch.setattr(
        imap.IMAPClient,
        "has_capability",
        lambda self, name: name.upper() != "MOVE" and original(self, name),
    )
    # Taken earlier (in "mark as read" mode), since flagged \Deleted by a person: the
    # fallback must expunge only what it moved (UID EXPUNGE), not this one.
    server.append("support", mail("Someone's deleted mail"), flags=[SEEN, b"\\Deleted"])
    mailbox = make_mailbox(
        tenant_a, server, after_fetch=Mailbox.AfterFetch.MOVE, processed_folder="Done",
        uidvalidity=server.uidvalidity("support"), last_uid=1,
    )  # fmt: skip
    server.append("support", mail("Fallback 1"))
    server.append("support", mail("Fallback 2"))
    result = poll(tenant_a, mailbox)
    assert (result.fetched, result.error) == (2, "")
    assert len(server.flags("support", "Done")) == 2
    assert subjects(tenant_a) == ["Fallback 1", "Fallback 2"]
    left = server.flags("support", "INBOX")
    assert len(left) == 1 and b"\\Deleted" in next(iter(left.values()))


def test_uidvalidity_change_refetches_without_duplicates(tenant_a, server):
    old = [mail("Old one"), mail("Old two"), mail("Old three")]
    for raw in old:
        server.append("support", raw, folder="Support")
    mailbox = make_mailbox(tenant_a, server, imap_folder="Support")
    assert poll(tenant_a, mailbox).ingested == 3
    first_validity = reload(tenant_a, mailbox).uidvalidity

    # The folder is recreated (e.g. a server migration): UIDs start again at 1. The new
    # message gets UID 1, below the last UID we saw: only a reset finds it.
    with server.client("support") as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    server.append("support", mail("New after migration"), folder="Support")
    for raw in old:
        server.append("support", raw, folder="Support")
    assert server.uidvalidity("support", "Support") != first_validity

    result = poll(tenant_a, mailbox)

    assert result.uidvalidity_reset and result.error == ""
    assert (result.fetched, result.ingested, result.duplicates) == (4, 1, 3)
    assert subjects(tenant_a) == ["New after migration", "Old one", "Old three", "Old two"]
    mailbox = reload(tenant_a, mailbox)
    assert mailbox.uidvalidity == server.uidvalidity("support", "Support")
    assert mailbox.last_uid == 4


def test_wrong_password_or_no_server_is_recorded_not_raised(tenant_a, server):
    server.append("support", mail("Waiting"))
    mailbox = make_mailbox(tenant_a, server, imap_password="wrong")
    result = poll_mailbox_task.run(tenant_a.pk, mailbox_id=mailbox.pk)
    assert result.startswith("error: LoginError")
    mailbox = reload(tenant_a, mailbox)
    assert "LoginError" in mailbox.last_error and "uthenticat" in mailbox.last_error
    assert mailbox.last_polled_at is not None and mailbox.last_uid == 0
    assert subjects(tenant_a) == []

    with tenant_context(tenant_a):
        Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=free_port())  # nobody listens
    assert poll_mailbox_task.run(tenant_a.pk, mailbox_id=mailbox.pk).startswith("error:")
    assert "ConnectionRefusedError" in reload(tenant_a, mailbox).last_error

    with tenant_context(tenant_a):  # fixed by the admin: the next poll works and clears it
        Mailbox.objects.filter(pk=mailbox.pk).update(
            imap_port=server.port, imap_password=server.users["support"]
        )
    assert poll_mailbox_task.run(tenant_a.pk, mailbox_id=mailbox.pk) == "fetched 1"
    assert reload(tenant_a, mailbox).last_error == ""
    assert subjects(tenant_a) == ["Waiting"]


def test_each_mailbox_lands_in_its_own_tenant(tenant_a, tenant_b, server):
    server.append("support", mail("For alpha"))
    server.append("other", mail("给 bravo 的", sender="li@customer.test"))
    mine = make_mailbox(tenant_a, server, "support")
    theirs = make_mailbox(tenant_b, server, "other")
    assert poll_mailbox_task.run(tenant_b.pk, mailbox_id=theirs.pk) == "fetched 1"
    assert subjects(tenant_a) == []
    assert subjects(tenant_b) == ["给 bravo 的"]
    # A tenant's task cannot poll another tenant's mailbox by id.
    assert poll_mailbox_task.run(tenant_a.pk, mailbox_id=theirs.pk) == "skipped"
    assert poll_mailbox_task.run(tenant_a.pk, mailbox_id=mine.pk) == "fetched 1"
    assert subjects(tenant_a) == ["For alpha"]
    assert subjects(tenant_b) == ["给 bravo 的"]
    with tenant_context(tenant_b):
        assert InboundEmail.objects.get().mailbox_id == theirs.pk


def test_poll_is_bounded_and_advances_after_each_batch(tenant_a, server, monkeypatch):
    for n in range(7):
        server.append("support", mail(f"Backlog {n}"))
    monkeypatch.setattr(imap, "BATCH", 2)
    mailbox = make_mailbox(tenant_a, server)
    with tenant_context(tenant_a):
        first = poll_mailbox(Mailbox.objects.get(pk=mailbox.pk), limit=5)
    assert (first.fetched, first.more) == (5, True)
    assert reload(tenant_a, mailbox).last_uid == 5
    assert len(subjects(tenant_a)) == 5

    # A crash in the middle of a poll: the batches taken stay taken, the rest comes next time.
    real_receive = imap.receive_emails
    calls = []

    def crash_on_second_batch(raws, **kwargs):
        calls.append(raws)
        if len(calls) == 2:
            raise RuntimeError("worker lost its database")
        return real_receive(raws, **kwargs)

    server.append("support", mail("Backlog 7"))
    server.append("support", mail("Backlog 8"))
    monkeypatch.setattr(imap, "receive_emails", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        poll(tenant_a, mailbox)
    assert [len(batch) for batch in calls] == [2, 2]  # UIDs 6-7, then 8-9 (crashed)
    mailbox = reload(tenant_a, mailbox)
    assert mailbox.last_uid == 7
    assert "RuntimeError: worker lost its database" in mailbox.last_error
    monkeypatch.setattr(imap, "receive_emails", real_receive)
    rest = poll(tenant_a, mailbox)
    assert (rest.fetched, rest.ingested, rest.more) == (2, 2, False)
    assert subjects(tenant_a) == sorted(f"Backlog {n}" for n in range(9))


def test_oversized_message_is_fetched_only_up_to_the_limit(tenant_a, server, monkeypatch):
    from channels_in import email as email_channel

    monkeypatch.setattr(imap, "MAX_RAW_BYTES", 2000)
    monkeypatch.setattr(email_channel, "MAX_RAW_BYTES", 2000)
    server.append("support", mail("Huge", body="x" * 5000))
    server.append("support", mail("Small"))
    mailbox = make_mailbox(tenant_a, server)
    result = poll(tenant_a, mailbox)
    assert (result.fetched, result.failed, result.ingested) == (2, 1, 1)
    with tenant_context(tenant_a):
        huge = InboundEmail.objects.get(status=InboundEmail.Status.FAILED)
    assert len(bytes(huge.raw)) == 2000 and "over the" in huge.error
    assert subjects(tenant_a) == ["Small"]


def test_concurrent_poll_of_the_same_mailbox_does_nothing(tenant_a, server, monkeypatch):
    for n in range(3):
        server.append("support", mail(f"Concurrent {n}"))
    mailbox = make_mailbox(tenant_a, server)
    real_receive = imap.receive_emails
    inside, release = threading.Event(), threading.Event()

    def slow_receive(raws, **kwargs):
        inside.set()
        assert release.wait(20)
        return real_receive(raws, **kwargs)

    monkeypatch.setattr(imap, "receive_emails", slow_receive)
    outcome = {}

    def first_poll():
        from django.db import connection

        try:
            outcome["first"] = poll_mailbox_task.run(tenant_a.pk, mailbox_id=mailbox.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=first_poll)
    thread.start()
    try:
        assert inside.wait(20), "the first poll never reached the first message"
        assert poll_mailbox_task.run(tenant_a.pk, mailbox_id=mailbox.pk) == "locked"
    finally:
        release.set()
        thread.join(30)
    assert outcome["first"] == "fetched 3"
    assert subjects(tenant_a) == ["Concurrent 0", "Concurrent 1", "Concurrent 2"]
    # The lock is released afterwards: the next poll runs (and finds nothing new).
    assert poll_mailbox_task.run(tenant_a.pk, mailbox_id=mailbox.pk) == "fetched 0"


def test_beat_polls_every_minute():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
               if e["task"] == "channels_in.tasks.poll_all_mailboxes"]  # fmt: skip
    assert len(entries) == 1 and entries[0]["schedule"] == 60.0


@pytest.mark.worker
def test_poll_all_mailboxes_through_a_real_worker(tenant_a, tenant_b, server):
    server.append("support", mail("Via the worker, alpha"))
    server.append("other", mail("Via the worker, bravo"))
    server.append("idle", mail("Nobody polls this"))
    make_mailbox(tenant_a, server, "support")
    make_mailbox(tenant_b, server, "other")
    make_mailbox(tenant_a, server, "idle", is_active=False)
    with tenant_context(tenant_b):
        Mailbox.objects.create(name="fwd", address="fwd@bravo.test", kind=Mailbox.Kind.FORWARD)

    with smtp_sink() as (_sink, port), celery_worker(port):
        assert poll_all_mailboxes.delay() is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subjects(tenant_a) and subjects(tenant_b):
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a stray second poll would have ingested by now

    assert subjects(tenant_a) == ["Via the worker, alpha"]
    assert subjects(tenant_b) == ["Via the worker, bravo"]
    assert all(SEEN not in f for f in server.flags("idle").values())  # inactive: untouched
