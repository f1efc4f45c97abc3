"""The knowledge pages in a browser, English and Chinese, desktop (1280) and phone (390):
no sideways overflow, every control labelled, screenshots in artifacts/screens/kb-*.png; and
the editor's live preview through htmx."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from knowledge import services
from knowledge.demo import seed_knowledge
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
UNLABELLED = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""


class Spec:
    language = "en"


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support")
    people = [
        ("admin@acme.test", "Ada Admin", Membership.Role.ADMIN),
        ("manager@acme.test", "Morgan Manager", Membership.Role.MANAGER),
        ("agent1@acme.test", "Alex Agent", Membership.Role.AGENT),
    ]
    for email, name, role in people:
        MembershipFactory(tenant=tenant, user__email=email, user__full_name=name, role=role)
    with tenant_context(tenant):
        seed_knowledge(tenant, Spec())
    return tenant


def _pages(tenant) -> list[tuple[str, str]]:
    from knowledge.models import Article, FAQCollection

    with tenant_context(tenant):
        article = Article.objects.get(title="How long does a refund take?")
        admin = Membership.objects.get(role="admin").user
        services.article_update(
            article=article, actor=admin, title=article.title,
            body=article.body.replace("2 working days", "1 working day") + "\n\nUpdated.",
            section=article.section, visibility=article.visibility, reviewer=article.reviewer,
            review_every_days=article.review_every_days, note="Faster checks",
        )  # fmt: skip
        zh = Article.objects.get(translation_group=article.translation_group, language="zh-hans")
        faq = FAQCollection.objects.get()
        section = article.section
    return [
        ("kb-list", "/agent/kb/"),
        ("kb-search", "/agent/kb/?q=refnud"),
        ("kb-search-zh", "/agent/kb/?q=退款"),
        ("kb-article", f"/agent/kb/articles/{article.pk}/"),
        ("kb-article-zh", f"/agent/kb/articles/{zh.pk}/"),
        ("kb-edit", f"/agent/kb/articles/{article.pk}/edit/"),
        ("kb-new", "/agent/kb/new/"),
        ("kb-history", f"/agent/kb/articles/{article.pk}/history/"),
        ("kb-review", "/agent/kb/review/"),
        ("kb-stale", "/agent/kb/stale/"),
        ("kb-categories", "/agent/kb/categories/"),
        ("kb-section", f"/agent/kb/sections/{section.pk}/"),
        ("kb-faq", "/agent/kb/faq/"),
        ("kb-faq-edit", f"/agent/kb/faq/{faq.pk}/"),
    ]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_knowledge_pages(browser, live_server, acme, lang, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(tenant_url(live_server, acme, "/accounts/login/"))
    page.locator("#id_username").fill("admin@acme.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    for name, path in _pages(acme):
        page.goto(tenant_url(live_server, acme, path))
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1, f"{name} [{lang}, {size}] is {overflow}px wide"
        assert page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name}"
        assert "Traceback" not in page.content()
        page.screenshot(path=str(shots / f"{name}-{lang}-{size}.png"), full_page=True)
    # The live preview: typing Markdown shows it rendered, through htmx.
    page.goto(tenant_url(live_server, acme, "/agent/kb/new/"))
    page.locator("#id_body").fill("## Live preview\n\n- **bold** item")
    page.locator("#preview h2").wait_for()
    assert page.locator("#preview strong").inner_text() == "bold"
    context.close()
