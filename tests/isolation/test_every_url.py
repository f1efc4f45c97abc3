"""Walk every URL pattern of the tenant host and try to cross the wall.

For each pattern (GET and POST):
- anonymous on tenant A's host: redirected to sign in, or a page on the PUBLIC list;
- a member of tenant B whose session claims tenant A (a forged binding): 404 or sign-in;
- an administrator of tenant B on B's own host, with ids of tenant A's objects: 404.
A new pattern with no entry in SAMPLE_KWARGS or PUBLIC fails `test_every_pattern_is_covered`,
so every view anyone adds is exercised here automatically.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from channels_in.models import ChatSession, InboundEmail, Mailbox, MessagingChannel
from helpdesk.accounts.services import api_token_create
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.resolve import forget_host_cache
from tests.factories import MembershipFactory
from tests.helpers import host_of, sign_in

# Public help-centre pages that name one of the tenant's objects: on another tenant's host
# that object does not exist (404).
PUBLIC_BY_ID = {
    "knowledge:category",
    "knowledge:section",
    "knowledge:article_public",
    "knowledge:article_feedback",
    "knowledge:faq_public",
    "knowledge:file_public",
}
# A follow link is a bearer token for one ticket (tests/portal/test_follow.py): whoever holds
# it reads that ticket, on its tenant's host only.
BEARER = {"portal:request_follow"}

# What a public page may answer (a public page of something that isn't there is a 404).
PUBLIC_STATUSES = {200, 204, 302, 400, 404, 405}

# Pages anyone may open on a tenant host (they show no tenant-private data).
PUBLIC = {
    "public:home",
    "accounts:login",
    "accounts:logout",
    "accounts:signup",
    "accounts:login_link_request",
    "accounts:login_link",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "set_language",
    "healthz",
    "readyz",
    # Token-authenticated (the token is the mailbox's key; another tenant's token is a 404:
    # tests/channels_in/test_channel_views.py).
    "channels:email_webhook",
    # Anyone may write in (rate-limited; the confirmation reads only this browser's session).
    "portal:request_new",
    "portal:request_thanks",
    # The live chat widget's endpoints: a conversation is reached only by its session token
    # (another tenant's token is a 404: tests/channels_in/test_chat.py).
    "channels:chat_config",
    "channels:chat_start",
    "channels:chat_offline",
    "channels:chat_messages",
    "channels:chat_transcript",
    # Messaging apps' webhooks: the token names one channel, every POST must be signed by the
    # provider (another tenant's token is a 404: tests/channels_in/test_messaging.py).
    "channels:messaging_webhook",
    # Deflection on the request form: public articles of this host's tenant only; "solved"
    # needs the form's flow token (tests/knowledge/test_deflection.py crosses tenants).
    "knowledge:deflect",
    "knowledge:deflect_solved",
    # The public help centre (tests/help_centre/ checks that nothing unpublished or internal
    # shows); the pages that take a slug or id are also in PUBLIC_BY_ID below.
    "knowledge:index",
    "knowledge:search",
    "knowledge:sitemap",
    "knowledge:sitemap_page",
    "knowledge:robots",
    "knowledge:brand_logo",
    *PUBLIC_BY_ID,
    *BEARER,
}

# The JSON API (/api/v1/, namespace "api") takes bearer tokens, never sessions: without a valid
# token of this tenant every operation is a 401 JSON; openapi.json is public; the API root is a
# JSON 404.
API_PUBLIC = {"api:openapi-json": {200, 405}, "api:api-root": {404}}


def is_api(name: str) -> bool:
    return name.startswith("api:")


def assert_api_refused(name, response, allowed=frozenset({401, 405})):
    expected = API_PUBLIC.get(name, allowed)
    assert response.status_code in expected, (name, response.status_code)
    assert response["Content-Type"].startswith("application/json"), name
    assert b"secret" not in response.content.lower(), name


# How to fill each URL parameter with an object of tenant A (the victim).
SAMPLE_KWARGS = {
    "membership_id": lambda objs: objs["membership"].pk,
    "token_id": lambda objs: objs["token"].pk,
    "uidb64": lambda objs: "MQ",
    "token": lambda objs: "set-password",
    "number": lambda objs: objs["ticket"].number,
    "message_id": lambda objs: objs["message"].pk,
    "attachment_id": lambda objs: objs["attachment"].pk,
    "view_id": lambda objs: objs["saved_view"].pk,
    "contact_id": lambda objs: objs["contact"].pk,
    "identity_id": lambda objs: objs["identity"].pk,
    "canned_id": lambda objs: objs["canned"].pk,
    "team_id": lambda objs: objs["team"].pk,
    "member_id": lambda objs: objs["team_member"].pk,
    "field_id": lambda objs: objs["custom_field"].pk,
    "mailbox_id": lambda objs: objs["mailbox"].pk,
    "inbound_id": lambda objs: objs["inbound"].pk,
    "webhook_token": lambda objs: objs["mailbox"].webhook_token,
    "session_token": lambda objs: objs["chat_session"].token,
    "provider": lambda objs: objs["messaging_channel"].provider,
    "channel_token": lambda objs: objs["messaging_channel"].webhook_token,
    "channel_id": lambda objs: objs["messaging_channel"].pk,
    "keyword_rule_id": lambda objs: objs["keyword_rule"].pk,
    "trigger_id": lambda objs: objs["trigger"].pk,
    "macro_id": lambda objs: objs["macro"].pk,
    "notification_id": lambda objs: objs["notification"].pk,
    "rule_id": lambda objs: objs["routing_rule"].pk,
    "auto_reply_id": lambda objs: objs["auto_reply"].pk,
    "policy_id": lambda objs: objs["sla_policy"].pk,
    "calendar_id": lambda objs: objs["calendar"].pk,
    "date_id": lambda objs: objs["calendar_date"].pk,
    "escalation_id": lambda objs: objs["escalation_policy"].pk,
    "alert_rule_id": lambda objs: objs["alert_rule"].pk,
    "article_id": lambda objs: objs["article"].pk,
    "version_id": lambda objs: objs["article_version"].pk,
    "file_id": lambda objs: objs["article_file"].pk,
    "category_id": lambda objs: objs["kb_section"].category_id,
    "section_id": lambda objs: objs["kb_section"].pk,
    "faq_id": lambda objs: objs["faq"].pk,
    "slug": lambda objs: objs["public_article"].slug,
    "category_slug": lambda objs: objs["public_section"].category.slug,
    "section_slug": lambda objs: objs["public_section"].slug,
    "faq_slug": lambda objs: objs["public_faq"].slug,
    "sitemap_page": lambda objs: 1,
    "request_number": lambda objs: objs["ticket"].number,
    "follow_token": lambda objs: _follow_token(objs["ticket"]),
}


def _follow_token(ticket) -> str:
    from tickets.portal import follow_token

    with tenant_context(ticket.tenant):
        return follow_token(ticket)


def all_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver(settings.ROOT_URLCONF)
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            yield from all_patterns(
                entry, prefix + str(entry.pattern), f"{namespace}{ns}:" if ns else namespace
            )
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", list(entry.pattern.converters)


PATTERNS = sorted(all_patterns())


def test_every_pattern_is_covered():
    missing = [
        (name, param) for name, params in PATTERNS for param in params if param not in SAMPLE_KWARGS
    ]
    assert not missing, f"add these URL parameters to SAMPLE_KWARGS: {missing}"
    assert len(PATTERNS) >= 15


@pytest.fixture
def victim(tenant_a, admin, settings, tmp_path):
    """One object of every kind in tenant A, for URLs that take an id."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sla import models as sla_models
    from tests.factories import make_ticket
    from tickets import models as t
    from tickets.automation import models as automation
    from tickets.automation.models import KeywordRule, Macro, Notification, Trigger
    from tickets.services import ticket_add_note

    settings.MEDIA_ROOT = tmp_path
    membership = MembershipFactory(tenant=tenant_a, user__email="victim@alpha.test")
    ticket = make_ticket(tenant_a, subject="Victim's secret ticket")
    with tenant_context(tenant_a):
        token, _secret = api_token_create(user=membership.user, name="victim")
        note = ticket_add_note(
            ticket=ticket,
            author=membership.user,
            body_text="secret note",
            attachments=[SimpleUploadedFile("secret.txt", b"secret", "text/plain")],
        )
        team = t.Team.objects.create(name="Victim team")
        calendar = sla_models.BusinessCalendar.objects.create(name="Victim secret hours")
        objs = {
            "membership": membership,
            "token": token,
            "ticket": ticket,
            "message": note,
            "attachment": note.attachments.get(),
            "saved_view": t.SavedView.objects.create(name="Victim view", filters={}),
            "contact": ticket.requester,
            "identity": t.ContactIdentity.objects.create(
                contact=ticket.requester, kind="phone", value="+44 1234"
            ),
            "canned": t.CannedResponse.objects.create(title="Victim canned", body="x"),
            "team": team,
            "team_member": t.TeamMember.objects.create(team=team, user=membership.user),
            "custom_field": t.CustomField.objects.create(key="victim", label="Victim"),
            "mailbox": Mailbox.objects.create(
                name="Victim", address="victim-secret@alpha.example", kind="forward"
            ),
            "chat_session": ChatSession.objects.create(contact=ticket.requester, ticket=ticket),
            "messaging_channel": MessagingChannel.objects.create(
                provider="telegram", name="Victim bot", token="victim-hook", bot_token="1:x"
            ),
            "inbound": InboundEmail.objects.create(
                via="command",
                raw=b"From: nobody\r\n\r\nsecret",
                raw_digest="x" * 64,
                status="failed",
                error="victim secret failure",
            ),
            "keyword_rule": KeywordRule.objects.create(
                kind="topic", label="victim-secret", keywords=["secret"]
            ),
            "trigger": Trigger.objects.create(
                name="Victim secret trigger",
                event="created",
                actions=[{"action": "add_tags", "value": ["secret"]}],
            ),
            "macro": Macro.objects.create(name="Victim secret macro", reply_text="secret"),
            "notification": Notification.objects.create(
                recipient=membership.user, title="Victim secret notification"
            ),
            "routing_rule": automation.RoutingRule.objects.create(
                name="Victim secret rule", actions=[{"action": "add_tags", "value": ["x"]}]
            ),
            "auto_reply": automation.AutoReply.objects.create(
                name="Victim secret reply", subject="secret", body="secret"
            ),
            "calendar": calendar,
            "calendar_date": sla_models.CalendarDate.objects.create(
                calendar=calendar, date=date(2026, 12, 24), name="Victim secret closure"
            ),
            "sla_policy": sla_models.SLAPolicy.objects.create(
                name="Victim secret SLA", calendar=calendar, first_response_minutes=60
            ),
            "escalation_policy": sla_models.EscalationPolicy.objects.create(
                name="Victim secret escalation", when="sla_breached"
            ),
            "alert_rule": sla_models.AlertRule.objects.create(
                name="Victim secret alert", event="sla_breached", level="critical"
            ),
            **_knowledge_victims(admin),
        }
    forget_host_cache()
    return objs


def _knowledge_victims(admin) -> dict:
    from knowledge import services as kb

    category = kb.category_save(actor=admin, name="Victim secret category")
    section = kb.section_save(actor=admin, category=category, name="Victim secret section")
    article = kb.article_create(actor=admin, section=section, title="Victim secret article",
                                body="secret", language="en")  # fmt: skip
    upload = SimpleUploadedFile("secret.png", b"\x89PNG secret", "image/png")
    # Published and public: on tenant A's host anyone reads it; nowhere else.
    shown_category = kb.category_save(actor=admin, name="Victim public category")
    shown = kb.section_save(actor=admin, name="Victim public section", category=shown_category)
    public_article = kb.article_publish(
        article=kb.article_create(actor=admin, section=shown, title="Victim public article",
                                  body="Victim public text", language="en", visibility="public"),
        actor=admin,
    )  # fmt: skip
    public_faq = kb.faq_save(actor=admin, name="Victim public FAQ", language="en")
    kb.faq_add(actor=admin, collection=public_faq, article=public_article)
    return {
        "public_article": public_article,
        "public_section": shown,
        "public_faq": public_faq,
        "kb_section": section,
        "article": article,
        "article_version": article.versions.first(),
        "article_file": kb.attachment_add(article=article, upload=upload, actor=admin),
        "faq": kb.faq_save(actor=admin, name="Victim secret FAQ", language="en"),
    }


def url_for(name, params, objs):
    return reverse(name, kwargs={p: SAMPLE_KWARGS[p](objs) for p in params})


@pytest.mark.parametrize(("name", "params"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_anonymous_is_sent_to_sign_in(client, tenant_a, victim, name, params):
    url = url_for(name, params, victim)
    for method in (client.get, client.post):
        response = method(url, HTTP_HOST=host_of(tenant_a))
        if is_api(name):
            assert_api_refused(name, response)
        elif name in PUBLIC:
            assert response.status_code in PUBLIC_STATUSES, (name, response.status_code)
        else:
            assert response.status_code == 302, (name, response.status_code)
            assert response.url.startswith(reverse("accounts:login")), (name, response.url)


@pytest.mark.parametrize(("name", "params"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_member_of_other_tenant_on_this_host_gets_404(
    client, tenant_a, outsider, victim, name, params
):
    sign_in(client, outsider, tenant_a)  # a forged session claiming tenant A
    url = url_for(name, params, victim)
    for method in (client.get, client.post):
        response = method(url)
        if name not in BEARER:  # the holder of a follow link reads its ticket, by design
            assert b"secret" not in response.content.lower(), name
        if is_api(name):
            assert_api_refused(name, response)
        elif name in PUBLIC:
            assert response.status_code in PUBLIC_STATUSES, (name, response.status_code)
            assert b"victim@alpha.test" not in response.content
        else:
            assert response.status_code == 404, (name, response.status_code)


@pytest.mark.parametrize(
    ("name", "params"), [p for p in PATTERNS if p[1]], ids=[p[0] for p in PATTERNS if p[1]]
)
def test_admin_of_other_tenant_cannot_reach_our_objects_by_id(
    client, tenant_b, outsider, victim, name, params
):
    sign_in(client, outsider, tenant_b)
    url = url_for(name, params, victim)
    # A GET on a POST-only action may say 405 (it reveals nothing); the POST must be a 404.
    for method, allowed in ((client.get, {404, 405}), (client.post, {404})):
        response = method(url)
        if is_api(name):
            assert_api_refused(name, response)
            continue
        if name in PUBLIC_BY_ID | BEARER:  # tenant A's slug, file or link on B's host: not here
            assert response.status_code in {400, 404, 405}, (name, response.status_code)
            content = response.content.lower()
            assert b"secret" not in content and b"victim public" not in content, name
            continue
        if name in PUBLIC:
            assert b"victim@alpha.test" not in response.content
            continue
        assert response.status_code in allowed, (name, response.status_code)
        assert b"secret" not in response.content.lower(), name
    with tenant_context(victim["membership"].tenant):
        membership = Membership.objects.get(pk=victim["membership"].pk)
        assert membership.is_active and membership.role == Membership.Role.AGENT
        ticket = type(victim["ticket"]).objects.get(pk=victim["ticket"].pk)
        assert (ticket.version, ticket.status, ticket.merged_into_id) == (1, "new", None), name
        assert ticket.messages.count() == 2, name
        channel = MessagingChannel.objects.filter(pk=victim["messaging_channel"].pk).first()
        assert channel and channel.is_active and channel.name == "Victim bot", name


API_WITH_IDS = [p for p in PATTERNS if is_api(p[0]) and p[1]]


@pytest.mark.parametrize(("name", "params"), API_WITH_IDS, ids=[p[0] for p in API_WITH_IDS])
def test_api_token_of_other_tenant_cannot_reach_our_objects_by_id(
    client, tenant_a, tenant_b, outsider, victim, name, params
):
    """B's admin with B's token: on B's host A's numbers and ids are 404; on A's host, 401."""
    with tenant_context(tenant_b):
        _token, secret = api_token_create(user=outsider, name="probe")
    url = url_for(name, params, victim)
    # A body every write operation accepts, so the lookup (not validation) decides.
    body = '{"kind": "note", "body_text": "probe", "priority": "low"}'
    for host, allowed in ((host_of(tenant_b), {404, 405}), (host_of(tenant_a), {401, 405})):
        headers = {"HTTP_HOST": host, "HTTP_AUTHORIZATION": f"Bearer {secret}"}
        responses = [client.get(url, **headers)] + [
            method(url, body, content_type="application/json", **headers)
            for method in (client.post, client.patch)
        ]
        for response in responses:
            assert_api_refused(name, response, allowed)
    with tenant_context(tenant_a):
        ticket = type(victim["ticket"]).objects.get(pk=victim["ticket"].pk)
        assert (ticket.version, ticket.priority, ticket.messages.count()) == (1, "normal", 2)
