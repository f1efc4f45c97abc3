"""Every knowledge URL across the tenant wall: another tenant's staff get a 404 for our ids
(on their own host) and on our host (a forged session); anonymous visitors are sent to sign
in; nothing of ours is in any answer and nothing changes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.resolve import forget_host_cache
from knowledge import services
from knowledge.models import Article
from tests.helpers import host_of, sign_in
from tests.isolation.test_every_url import all_patterns
from tests.knowledge.conftest import write

pytestmark = pytest.mark.django_db

# The staff side (/agent/kb/). The public help centre and deflection (/kb/, /sitemap.xml …) are
# open to anyone: tests/isolation's PUBLIC list and tests/help_centre/ cross them.
PATTERNS = [
    (name, params)
    for name, params in all_patterns()
    if name.startswith("knowledge:")
    and reverse(name, kwargs=dict.fromkeys(params, 1)).startswith("/agent/")
]


@pytest.fixture
def victim(tenant_a, section, admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    article = write(tenant_a, section, admin, "Victim secret article", "secret text")
    with tenant_context(tenant_a):
        article = services.article_update(article=article, actor=admin, title=article.title,
                                          body="secret text 2", section=section,
                                          visibility="public", reviewer=None,
                                          review_every_days=180)  # fmt: skip
        upload = SimpleUploadedFile("secret.png", b"\x89PNG secret", "image/png")
        attachment = services.attachment_add(article=article, upload=upload, actor=admin)
        faq = services.faq_save(actor=admin, name="Victim secret FAQ", language="en")
        version_id = article.versions.first().pk
    forget_host_cache()
    return {
        "article_id": article.pk,
        "version_id": version_id,
        "file_id": attachment.pk,
        "category_id": section.category_id,
        "section_id": section.pk,
        "faq_id": faq.pk,
    }


def test_every_knowledge_pattern_is_here():
    names = {name for name, _ in PATTERNS}
    assert {"knowledge:agent_index", "knowledge:article", "knowledge:file"} <= names
    assert len(PATTERNS) >= 20


@pytest.mark.parametrize(("name", "params"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_other_tenants_staff_get_404(client, tenant_a, tenant_b, outsider, victim, name, params):
    url = reverse(name, kwargs={p: victim[p] for p in params})
    sign_in(client, outsider, tenant_b)  # B's administrator on B's host, with A's ids
    for method in (client.get, client.post):
        response = method(url)
        if params:
            allowed = {404, 405} if method == client.get else {404}
            assert response.status_code in allowed, (name, response.status_code)
        assert b"secret" not in response.content.lower(), name
    forged = sign_in(client, outsider, tenant_a)  # B's administrator claiming A's host
    for method in (forged.get, forged.post):
        response = method(url)
        assert response.status_code == 404, (name, response.status_code)
    with tenant_context(tenant_a):
        article = Article.objects.get(pk=victim["article_id"])
        assert (article.status, article.version, article.title) == (
            "published",
            2,
            "Victim secret article",
        )
        assert article.attachments.count() == 1


@pytest.mark.parametrize(("name", "params"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_anonymous_is_sent_to_sign_in(client, tenant_a, victim, name, params):
    url = reverse(name, kwargs={p: victim[p] for p in params})
    for method in (client.get, client.post):
        response = method(url, HTTP_HOST=host_of(tenant_a))
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("accounts:login")), name


def test_a_customer_of_the_tenant_gets_404(client, tenant_a, customer, victim):
    sign_in(client, customer, tenant_a)
    for name, params in PATTERNS:
        url = reverse(name, kwargs={p: victim[p] for p in params})
        assert client.get(url).status_code == 404, name
