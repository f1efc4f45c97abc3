"""The help centre in a browser, English and Chinese, desktop (1280) and phone (375): no
sideways overflow, every control labelled, screenshots in artifacts/screens/help_centre/; and
"Was this helpful?" through htmx."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from knowledge.demo import seed_knowledge
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": (1280, 800), "phone": (375, 812)}
SHOTS = ARTIFACTS / "screens" / "help_centre"
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
    tenant = TenantFactory(slug="acme", name="Acme Support", default_language="en")
    for email, role in [("admin@acme.test", Membership.Role.ADMIN),
                        ("manager@acme.test", Membership.Role.MANAGER)]:  # fmt: skip
        MembershipFactory(tenant=tenant, user__email=email, role=role)
    with tenant_context(tenant):
        seed_knowledge(tenant, Spec())
    return tenant


def _pages(tenant) -> list[tuple[str, str]]:
    from knowledge.models import Article, FAQCollection

    with tenant_context(tenant):
        article = Article.objects.select_related("section__category").get(
            title="How long does a refund take?"
        )
        faq = FAQCollection.objects.get()
        category = article.section.category
    return [
        ("home", "/"),
        ("kb", "/kb/"),
        ("category", f"/kb/categories/{category.slug}/"),
        ("section", f"/kb/categories/{category.slug}/{article.section.slug}/"),
        ("article", f"/kb/articles/{article.slug}/"),
        ("search", "/kb/search/?q=refund"),
        ("search-empty", "/kb/search/?q=zzyzx"),
        ("faq", f"/kb/faq/{faq.slug}/"),
    ]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_help_centre_pages(browser, live_server, acme, lang, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in _pages(acme):
        response = page.goto(tenant_url(live_server, acme, path))
        assert response.status == 200, name
        assert page.evaluate("document.documentElement.lang") == lang
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1, f"{name} [{lang}, {size}] is {overflow}px wide"
        assert page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name}"
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)
    context.close()


def test_feedback_through_htmx(browser, live_server, acme):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    article = dict(_pages(acme))["article"]
    page.goto(tenant_url(live_server, acme, article))
    page.get_by_role("button", name="No", exact=True).click()
    page.get_by_text("Thanks for your feedback!").wait_for()
    assert page.url.endswith(article)  # swapped in place, no navigation
    page.get_by_label("Anything we should add or change? (optional)").fill("Say which cards")
    page.get_by_role("button", name="Send comment").click()
    page.get_by_text("Your comment reached our team.").wait_for()
    page.screenshot(path=str(SHOTS / "article-feedback-en-desktop.png"))
    with tenant_context(acme):
        from knowledge.models import ArticleFeedback

        feedback = ArticleFeedback.objects.get()
    assert (feedback.helpful, feedback.comment) == (False, "Say which cards")
    context.close()


def _png(width: int, height: int) -> bytes:
    """A real PNG (a two-tone wordmark-ish bar), written by hand: no imaging library here."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b""
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            dark = x < height or (height // 3 < y < 2 * height // 3 and x % 24 < 16)
            row += bytes((0x7A, 0x1F, 0xA2, 255) if dark else (0, 0, 0, 0))
        rows += bytes(row)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("size", list(SIZES))
def test_logo_upload_and_branded_pages(browser, live_server, acme, size, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(tenant_url(live_server, acme, "/accounts/login/"))
    page.locator("#id_username").fill("admin@acme.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(tenant_url(live_server, acme, "/settings/general/"))
    logo = tmp_path / "acme-logo.png"
    logo.write_bytes(_png(160, 48))
    page.locator("input[name=logo]").set_input_files(str(logo))
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    preview = page.locator(".settings-logo-preview img")
    preview.wait_for()
    assert page.evaluate("document.querySelector('.settings-logo-preview img').naturalWidth") == 160
    assert page.evaluate(UNLABELLED) == []
    page.screenshot(path=str(SHOTS / f"settings-logo-en-{size}.png"), full_page=True)
    page.goto(tenant_url(live_server, acme, "/"))
    assert page.evaluate("document.querySelector('.hc-brand-logo').naturalWidth") == 160
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.screenshot(path=str(SHOTS / f"home-logo-en-{size}.png"), full_page=True)
    context.close()
