"""Through the real services: the web side enqueues on commit into Redis, a real Celery worker
process picks the task up as the runtime role, inside the tenant, and mails an SMTP server."""

from __future__ import annotations

import pytest

from helpdesk.accounts.services import member_invite
from helpdesk.tenancy.context import tenant_context
from tests.worker import celery_worker, smtp_sink

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_invitation_is_mailed_by_a_real_worker(tenant_a, admin):
    with smtp_sink() as (sink, port), celery_worker(port):
        with tenant_context(tenant_a):
            membership = member_invite(
                email="newbie@alpha.test", full_name="New Bie", role="agent", actor=admin
            )
        messages = sink.wait_for(1)
        assert len(messages) == 1, "the worker did not send the invitation"
        message = messages[0]
        assert message["To"] == "newbie@alpha.test"
        assert tenant_a.name in message["Subject"]
        body = message.get_payload(decode=True).decode()
        assert "alpha.localhost" in body and "/accounts/reset/" in body
        with tenant_context(tenant_a):
            membership.refresh_from_db()
            assert membership.invitation_sent_at is not None
