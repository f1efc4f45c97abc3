"""Knowledge-base fixtures: a category and section in tenant A, and a helper that writes an
article through the services (published unless told otherwise)."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from knowledge import services
from knowledge.models import Article, Section
from tests.factories import MembershipFactory


@pytest.fixture
def section(tenant_a, admin) -> Section:
    with tenant_context(tenant_a):
        category = services.category_save(actor=admin, name="Orders and delivery")
        return services.section_save(actor=admin, category=category, name="Refunds")


@pytest.fixture
def reviewer(tenant_a):
    return MembershipFactory(
        tenant=tenant_a, user__email="reviewer@alpha.test", role=Membership.Role.AGENT
    ).user


def write(
    tenant,
    section: Section,
    actor,
    title: str,
    body: str = "",
    *,
    language: str = "en",
    visibility: str = Article.Visibility.PUBLIC,
    publish: bool = True,
    publisher=None,
    **kw,
) -> Article:
    with tenant_context(tenant):
        article = services.article_create(
            actor=actor, section=section, title=title, body=body, language=language,
            visibility=visibility, **kw,
        )  # fmt: skip
        if publish:
            if publisher is None:  # an administrator of the tenant publishes
                publisher = Membership.objects.filter(role="admin").first().user
            article = services.article_publish(article=article, actor=publisher)
        return article
