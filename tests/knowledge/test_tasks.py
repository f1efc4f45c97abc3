"""Beat work: the stale-article reminder (once per review cycle, to the owner), the search log
retention, and the demo seeder (idempotent, both tenants' languages, internal articles)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from knowledge import selectors, tasks
from knowledge.models import Article, SearchLog
from tests.knowledge.conftest import write
from tickets.automation.models import Notification

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def test_owners_of_overdue_articles_are_reminded_once(tenant_a, section, agent, admin):
    due = write(tenant_a, section, agent, "Delivery times")
    write(tenant_a, section, agent, "Fresh article")
    with tenant_context(tenant_a):
        Article.objects.filter(pk=due.pk).update(review_due_at=timezone.now() - timedelta(days=1))
        assert [a.pk for a in selectors.stale_articles()] == [due.pk]
    sent = []
    original = tasks.remind_stale.delay
    tasks.remind_stale.delay = lambda tenant_id: sent.append(tenant_id)
    try:
        assert tasks.remind_stale_articles() == 1
    finally:
        tasks.remind_stale.delay = original
    assert sent == [tenant_a.pk]
    assert tasks.remind_stale(tenant_a.pk) == 1
    assert tasks.remind_stale(tenant_a.pk) == 0  # the key: once per review cycle
    with tenant_context(tenant_a):
        [note] = Notification.objects.filter(recipient=agent)
        assert "Delivery times" in note.title and note.url == f"/agent/kb/articles/{due.pk}/"
        from knowledge import services

        services.article_mark_reviewed(article=due, actor=admin)
        assert list(selectors.stale_articles()) == []


def test_search_logs_are_kept_for_the_retention_period(tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            old = SearchLog.objects.create(query="old", audience="customer")
            SearchLog.objects.filter(pk=old.pk).update(
                created_at=timezone.now() - timedelta(days=SearchLog.RETENTION_DAYS + 1)
            )
            SearchLog.objects.create(query="new", audience="customer")
    assert tasks.purge_search_logs() == 2
    with tenant_context(tenant_a):
        assert list(SearchLog.objects.values_list("query", flat=True)) == ["new"]


def test_the_beat_schedule_has_the_reminder():
    from django.conf import settings

    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"knowledge.tasks.remind_stale_articles", "knowledge.tasks.purge_search_logs"} <= (
        tasks_scheduled
    )


def test_demo_seed_is_idempotent_and_bilingual():
    from helpdesk import demo
    from helpdesk.demo import TENANTS, seed_tenant
    from knowledge.demo import seed_knowledge

    demo.SEEDERS[:] = [seed_knowledge]
    try:
        for _ in range(2):
            tenants = [seed_tenant(spec) for spec in TENANTS]
    finally:
        demo.SEEDERS.clear()
    acme, huaxia = tenants
    with tenant_context(acme):
        assert Article.objects.filter(language="en").count() == 13
        assert Article.objects.filter(language="zh-hans").count() == 4
        assert Article.objects.filter(visibility="internal").count() == 3
        assert Article.objects.filter(status="review").count() == 1
        assert selectors.stale_articles().count() == 1
        from knowledge.search import search

        assert search("refund", language="en").hits[0].article.title.startswith("How")
    with tenant_context(huaxia):
        assert Article.objects.filter(language="zh-hans").count() == 13
        assert search("发票", language="zh-hans").hits[0].article.title == "如何开具增值税发票"
        assert search("退款", language="zh-hans").hits
        assert (
            search("登录", language="zh-hans").hits[0].article.title == "忘记密码，无法登录怎么办"
        )
        assert search("物流", language="zh-hans").hits[0].article.title == "如何查询物流进度"
