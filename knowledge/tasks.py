"""Knowledge base background work.

remind_stale_articles   beat, daily: which tenants have published articles due for review
                        (read across tenants on the owner connection: ids only), then one
                        remind_stale task each
remind_stale            per tenant: notify each due article's owner (or its reviewer), once
                        per review cycle (notification key kb-stale:<id>:<due date>)
purge_search_logs       beat, daily: forget SearchLog rows past their retention, all tenants
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from helpdesk.tenancy.tasks import tenant_task


@shared_task
def remind_stale_articles() -> int:
    from .models import Article

    tenant_ids = list(
        Article.objects.all_tenants()
        .filter(status=Article.Status.PUBLISHED, review_due_at__lt=timezone.now())
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    for tenant_id in tenant_ids:
        remind_stale.delay(tenant_id)
    return len(tenant_ids)


@tenant_task()
def remind_stale() -> int:
    """Safe twice: the notification key makes a second run write nothing."""
    from django.urls import reverse
    from django.utils.translation import gettext as _
    from django.utils.translation import override

    from tickets.automation.notifications import notify

    from .selectors import stale_articles

    sent = 0
    for article in stale_articles()[:500]:
        owner = article.author or article.reviewer
        if owner is None:
            continue
        with override(owner.language or None):
            sent += notify(
                recipients=[owner],
                title=_("Time to review “%(title)s”") % {"title": article.title},
                body=_(
                    "It was last reviewed %(date)s. Check it is still right, then mark it reviewed."
                )
                % {
                    "date": (article.last_reviewed_at or article.published_at).date().isoformat()
                },  # fmt: skip
                url=reverse("knowledge:article", kwargs={"article_id": article.pk}),
                key=f"kb-stale:{article.pk}:{article.review_due_at.date().isoformat()}",
            )
    return sent


@shared_task
def purge_search_logs() -> int:
    from .models import SearchLog

    before = timezone.now() - timedelta(days=SearchLog.RETENTION_DAYS)
    deleted, _ = SearchLog.objects.all_tenants().filter(created_at__lt=before).delete()
    return deleted
