"""The host root: /sitemap.xml (this tenant's published public articles in every language with
hreflang alternates, category pages; a sitemap index past the page size), /robots.txt, and the
tenant's logo: upload validation in Settings › General and serving at /brand/logo."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # our own responses: not untrusted XML

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.tenancy.models import Tenant
from knowledge import selectors_public
from tests.help_centre.conftest import PNG
from tests.helpers import host_of, sign_in
from tests.knowledge.conftest import write

pytestmark = pytest.mark.django_db
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


def _get(client, tenant, path):
    return client.get(path, HTTP_HOST=host_of(tenant))


def _locs(response) -> list[str]:
    root = ET.fromstring(  # noqa: S314
        response.content
    )
    return [el.text for el in root.iterfind(".//s:loc", NS)]


def test_sitemap_lists_public_articles_in_every_language_with_alternates(client, tenant_a, kb):
    response = _get(client, tenant_a, "/sitemap.xml")
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(  # noqa: S314
        response.content
    )
    base = f"http://{host_of(tenant_a)}"
    urls = {u.find("s:loc", NS).text: u for u in root.iterfind("s:url", NS)}
    refund = f"{base}/kb/articles/{kb.refund.slug}/"
    assert set(urls) == {
        f"{base}/kb/",
        f"{base}/kb/categories/{kb.refund.section.category.slug}/",
        refund + "?lang=en",
        refund + "?lang=zh-hans",
        f"{base}/kb/articles/{kb.delivery.slug}/?lang=en",
    }
    alternates = {(link.get("hreflang"), link.get("href"))
                  for link in urls[refund + "?lang=en"].iterfind("x:link", NS)}  # fmt: skip
    assert alternates == {("en", refund + "?lang=en"), ("zh-hans", refund + "?lang=zh-hans")}
    assert urls[refund + "?lang=en"].find("s:lastmod", NS).text.startswith("20")
    # English only (its Chinese version is a draft): no alternates at all.
    delivery = urls[f"{base}/kb/articles/{kb.delivery.slug}/?lang=en"]
    assert list(delivery.iterfind("x:link", NS)) == []


def test_a_tenants_sitemap_never_lists_another_tenants_articles(client, tenant_a, tenant_b,
                                                                 outsider, kb):  # fmt: skip
    from helpdesk.tenancy.context import tenant_context
    from knowledge import services

    with tenant_context(tenant_b):
        category = services.category_save(actor=outsider, name="订单")
        section = services.section_save(actor=outsider, category=category, name="退货")
    write(tenant_b, section, outsider, "退货运费谁付", "退货运费由我们承担。", language="zh-hans")
    ours = " ".join(_locs(_get(client, tenant_a, "/sitemap.xml")))
    theirs = " ".join(_locs(_get(client, tenant_b, "/sitemap.xml")))
    assert host_of(tenant_b) not in ours and "退货" not in ours
    assert kb.refund.slug not in theirs and host_of(tenant_a) not in theirs
    assert "%E9%80%80%E8%B4%A7" in theirs or "退货" in theirs


def test_a_big_sitemap_becomes_an_index_of_pages(client, tenant_a, kb, monkeypatch):
    monkeypatch.setattr(
        selectors_public, "SITEMAP_URLS", 2
    )  # 5 URLs: index, 1 category, 3 articles
    index = _get(client, tenant_a, "/sitemap.xml")
    root = ET.fromstring(  # noqa: S314
        index.content
    )
    assert root.tag == f"{{{NS['s']}}}sitemapindex"
    pages = _locs(index)
    base = f"http://{host_of(tenant_a)}"
    assert pages == [f"{base}/sitemap-{n}.xml" for n in (1, 2, 3)]
    seen = []
    for n, size in ((1, 2), (2, 2), (3, 1)):
        locs = _locs(_get(client, tenant_a, f"/sitemap-{n}.xml"))
        assert len(locs) == size
        seen += locs
    assert seen == _locs_unpaged(client, tenant_a, monkeypatch)
    assert seen[0] == f"{base}/kb/"
    assert _get(client, tenant_a, "/sitemap-4.xml").status_code == 404
    assert _get(client, tenant_a, "/sitemap-0.xml").status_code == 404


def _locs_unpaged(client, tenant, monkeypatch) -> list[str]:
    monkeypatch.setattr(selectors_public, "SITEMAP_URLS", 5_000)
    return _locs(_get(client, tenant, "/sitemap.xml"))


def test_robots_txt(client, tenant_a):
    response = _get(client, tenant_a, "/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for path in ("/agent/", "/settings/", "/portal/", "/api/"):
        assert f"Disallow: {path}\n" in text
    assert f"Sitemap: http://{host_of(tenant_a)}/sitemap.xml" in text
    assert "Disallow: /kb/" not in text and "Disallow: /\n" not in text


# --- Logo -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, tenant_a, admin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return sign_in(client, admin, tenant_a)


def _settings_post(client, tenant, **extra):
    data = {"name": tenant.name, "default_language": tenant.default_language,
            "timezone": tenant.timezone, "accent_color": "#aa3300", "portal_reopen_days": 14,
            **extra}  # fmt: skip
    return client.post(reverse("settings:general"), data)


def test_logo_upload_is_served_cached_and_shown(admin_client, client, tenant_a):
    upload = SimpleUploadedFile("Our Logo.PNG", PNG, "image/png")
    response = _settings_post(admin_client, tenant_a, logo=upload)
    assert response.status_code == 302
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    assert tenant.portal_reopen_days == 14 and tenant.accent_color == "#aa3300"
    assert tenant.logo.name.startswith(f"tenants/{tenant.pk}/brand/logo-")
    assert tenant.logo.name.endswith(".png")
    logo = admin_client.get(reverse("knowledge:brand_logo"))
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert "max-age=86400" in logo["Cache-Control"] and logo["X-Content-Type-Options"] == "nosniff"
    assert b"".join(logo.streaming_content) == PNG
    again = admin_client.get(reverse("knowledge:brand_logo"), HTTP_IF_NONE_MATCH=logo["ETag"])
    assert again.status_code == 304
    home = admin_client.get("/").content.decode()
    assert 'class="brand-logo" src="/brand/logo?v=' in home  # the portal header
    assert 'class="hc-brand-logo"' in home
    page = admin_client.get(reverse("settings:general")).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="remove_logo"' in page


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "PNG, JPEG"),
        ("logo.png", b"<html><script>alert(1)</script></html>", "PNG, JPEG"),
        ("logo.gif", b"GIF89a\x01\x00\x01\x00", "PNG, JPEG"),
        ("logo.png", PNG + b"\0" * (1024 * 1024), "1 MB"),
    ],
    ids=["svg", "html-named-png", "gif", "too-big"],
)
def test_logo_upload_refuses_anything_but_small_raster_images(admin_client, tenant_a, name,
                                                              content, error):  # fmt: skip
    response = _settings_post(admin_client, tenant_a,
                              logo=SimpleUploadedFile(name, content, "image/png"))  # fmt: skip
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Tenant.objects.get(pk=tenant_a.pk).logo


def test_logo_jpeg_and_webp_are_accepted_and_removal_works(admin_client, tenant_a):
    webp = (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10"
            b"\x11\x11\x88\x88\xfe\x07\x00")  # fmt: skip
    _settings_post(admin_client, tenant_a, logo=SimpleUploadedFile("a.webp", webp, "image/webp"))
    assert Tenant.objects.get(pk=tenant_a.pk).logo.name.endswith(".webp")
    assert admin_client.get(reverse("knowledge:brand_logo"))["Content-Type"] == "image/webp"
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 64
    _settings_post(admin_client, tenant_a, logo=SimpleUploadedFile("b.jpg", jpeg, "image/jpeg"))
    assert Tenant.objects.get(pk=tenant_a.pk).logo.name.endswith(".jpg")
    _settings_post(admin_client, tenant_a, remove_logo="on")
    assert not Tenant.objects.get(pk=tenant_a.pk).logo
    assert admin_client.get(reverse("knowledge:brand_logo")).status_code == 404


def test_a_tenant_without_a_logo_has_none_to_serve(client, tenant_a, tenant_b):
    assert _get(client, tenant_a, "/brand/logo").status_code == 404


def test_logos_are_per_tenant(admin_client, client, tenant_a, tenant_b):
    _settings_post(admin_client, tenant_a, logo=SimpleUploadedFile("a.png", PNG, "image/png"))
    assert client.get("/brand/logo", HTTP_HOST=host_of(tenant_a)).status_code == 200
    assert client.get("/brand/logo", HTTP_HOST=host_of(tenant_b)).status_code == 404
