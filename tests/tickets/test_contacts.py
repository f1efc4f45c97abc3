"""Contacts (customer 360): services (merge, identities, profile) and the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from tests.factories import ContactFactory, make_ticket
from tests.helpers import sign_in
from tickets import contacts as services
from tickets.models import (
    Contact,
    ContactIdentity,
    Message,
    Organization,
    Ticket,
    TicketEvent,
)
from tickets.selectors import InboxFilters, contact_search, ticket_filter
from tickets.services import ticket_add_inbound

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def duo(tenant_a):
    """Two records of one person: Dana at work (the keeper) and at home (the duplicate)."""
    keeper = ContactFactory(tenant=tenant_a, name="Dana Work", email="dana@work.test", user=None)
    dupe = ContactFactory(
        tenant=tenant_a,
        name="Dana Home",
        email="dana@home.test",
        phone="+44 20 7946 0000",
        tier="vip",
        notes="Prefers phone calls.",
    )
    return keeper, dupe


def _refresh(tenant, *objs):
    with tenant_context(tenant):
        for obj in objs:
            obj.refresh_from_db()


# --- Merge ----------------------------------------------------------------------------------


def test_merge_moves_tickets_messages_identities_and_login(tenant_a, agent, duo):
    keeper, dupe = duo
    kept_ticket = make_ticket(tenant_a, requester=keeper, subject="Invoice question")
    moved = [make_ticket(tenant_a, requester=dupe, subject=f"Parcel {n}") for n in range(3)]
    with tenant_context(tenant_a):
        ticket_add_inbound(ticket=kept_ticket, contact=dupe, body_text="Also me, from home")
        ContactIdentity.objects.create(contact=dupe, kind="wechat", value="dana_wx")
        login = dupe.user
        services.contact_merge(source=dupe, target=keeper, actor=agent)

        keeper.refresh_from_db()
        dupe.refresh_from_db()
        assert dupe.merged_into == keeper
        assert (dupe.email, dupe.phone, dupe.user) == ("", "", None)
        assert keeper.user == login  # only the duplicate had a portal login: it moved
        assert keeper.tier == "vip"  # the higher tier wins
        assert "Prefers phone calls." in keeper.notes
        assert set(Ticket.objects.filter(requester=keeper).values_list("pk", flat=True)) == {
            kept_ticket.pk,
            *(t.pk for t in moved),
        }
        assert not Ticket.objects.filter(requester=dupe).exists()
        assert not Message.objects.filter(author_contact=dupe).exists()
        assert Message.objects.filter(author_contact=keeper).count() == 5
        identities = set(keeper.identities.values_list("kind", "value"))
        assert identities == {("wechat", "dana_wx"), ("email", "dana@home.test")}
        assert keeper.phone == "+44 20 7946 0000"  # the keeper had none: it takes the number
        events = TicketEvent.objects.filter(kind="requester_merged")
        assert sorted(events.values_list("ticket_id", flat=True)) == sorted(t.pk for t in moved)
        assert events.first().data["from"]["email"] == "dana@home.test"
        audit = AuditEvent.objects.get(action="contact.merged")
        assert audit.actor == agent and audit.data["tickets"] == 3
        # Hidden from lists and search; the moved tickets are found under the keeper's name.
        assert dupe not in contact_search("Dana")
        found = ticket_filter(InboxFilters(view="open", q="Work"), user=agent)
        assert {t.pk for t in moved} <= set(found.values_list("pk", flat=True))


def test_merge_refuses_two_portal_logins_and_changes_nothing(tenant_a, agent):
    keeper = ContactFactory(tenant=tenant_a, name="Ed One")
    dupe = ContactFactory(tenant=tenant_a, name="Ed Two")
    ticket = make_ticket(tenant_a, requester=dupe)
    with tenant_context(tenant_a):
        with pytest.raises(services.ContactError, match="portal login"):
            services.contact_merge(source=dupe, target=keeper, actor=agent)
        dupe.refresh_from_db()
        ticket.refresh_from_db()
        assert dupe.merged_into is None and dupe.user is not None
        assert ticket.requester_id == dupe.pk
        assert not AuditEvent.objects.filter(action="contact.merged").exists()


def test_merge_refuses_itself_and_merged_contacts(tenant_a, agent, duo):
    keeper, dupe = duo
    third = ContactFactory(tenant=tenant_a, name="Dana Old", user=None)
    with tenant_context(tenant_a):
        with pytest.raises(services.ContactError):
            services.contact_merge(source=keeper, target=keeper, actor=agent)
        services.contact_merge(source=third, target=dupe, actor=agent)
        with pytest.raises(services.ContactError):
            services.contact_merge(source=third, target=keeper, actor=agent)
        with pytest.raises(services.ContactError):
            services.contact_merge(source=keeper, target=third, actor=agent)
        # A chain stays flat: what was merged into the duplicate now points at the keeper.
        services.contact_merge(source=dupe, target=keeper, actor=agent)
        third.refresh_from_db()
        assert third.merged_into_id == keeper.pk


# --- Identities and profile -----------------------------------------------------------------


def test_identities_are_unique_per_tenant(tenant_a, tenant_b, agent, duo):
    keeper, dupe = duo
    with tenant_context(tenant_a):
        added = services.contact_add_identity(
            contact=keeper, kind="email", value="  Dana@Other.TEST ", actor=agent
        )
        assert added.value == "dana@other.test"
        with pytest.raises(services.ContactError, match="already listed"):
            services.contact_add_identity(
                contact=keeper, kind="email", value="DANA@other.test", actor=agent
            )
        with pytest.raises(services.ContactError, match="merge"):
            services.contact_add_identity(
                contact=dupe, kind="email", value="dana@other.test", actor=agent
            )
        with pytest.raises(services.ContactError, match="merge"):  # another's primary address
            services.contact_add_identity(
                contact=keeper, kind="email", value="dana@home.test", actor=agent
            )
        with pytest.raises(services.ContactError):
            services.contact_add_identity(contact=keeper, kind="email", value="nope", actor=agent)
        phone = services.contact_add_identity(
            contact=keeper, kind="phone", value="+86 138-0000 0000", actor=agent
        )
        assert phone.value == "+8613800000000"
        assert AuditEvent.objects.filter(action="contact.identity_added").count() == 2
    other = ContactFactory(tenant=tenant_b, user=None)
    with tenant_context(tenant_b):  # the same address in another tenant is another person
        services.contact_add_identity(
            contact=other, kind="email", value="dana@other.test", actor=None
        )


def test_update_refuses_someone_elses_email_and_promotes_own_identity(tenant_a, agent, duo):
    keeper, dupe = duo
    with tenant_context(tenant_a):
        services.contact_add_identity(
            contact=keeper, kind="email", value="dana@alt.test", actor=agent
        )
        with pytest.raises(services.ContactError, match="merge"):
            services.contact_update(contact=keeper, actor=agent, email="DANA@home.test")
        changed = services.contact_update(
            contact=keeper,
            actor=agent,
            email="dana@alt.test",
            organization_name=" Acme  Ltd ",
            tier="premium",
        )
        assert set(changed) == {"email", "organization", "tier"}
        keeper.refresh_from_db()
        assert keeper.organization.name == "Acme Ltd"
        assert not keeper.identities.filter(value="dana@alt.test").exists()
        services.contact_update(contact=dupe, actor=agent, organization_name="acme ltd")
        assert Organization.objects.count() == 1
        assert AuditEvent.objects.filter(action="contact.email_changed").count() == 1


# --- Pages ----------------------------------------------------------------------------------


def test_contact_list_searches_paginates_and_hides_merged(client, tenant_a, agent, duo):
    keeper, dupe = duo
    for n in range(55):
        ContactFactory(tenant=tenant_a, name=f"Zed {n:02d}", user=None)
    with tenant_context(tenant_a):
        services.contact_merge(source=dupe, target=keeper, actor=agent)
    sign_in(client, agent, tenant_a)
    url = reverse("tickets:contacts")
    first = client.get(url)
    assert first.status_code == 200
    assert "Dana Work" in first.text and "Dana Home" not in first.text
    assert len(first.context["page"].rows) == 50
    second = client.get(first.context["next_url"])
    names = [c.name for c in second.context["page"].rows]
    assert names == [f"Zed {n:02d}" for n in range(49, 55)]
    assert second.context["next_url"] == ""
    found = client.get(url, {"q": "dana"}, HTTP_HX_TARGET="contact-list", **HTMX)
    assert "<html" not in found.text and 'id="contact-list"' in found.text
    assert [c.name for c in found.context["page"].rows] == ["Dana Work"]


def test_contact_page_shows_the_360_in_few_queries(
    client, tenant_a, agent, duo, django_assert_max_num_queries
):
    keeper, _dupe = duo
    with tenant_context(tenant_a):
        org = Organization.objects.create(name="Globex", tier="vip")
        Contact.objects.filter(pk=keeper.pk).update(organization=org, notes="Key account")
        ContactIdentity.objects.create(contact=keeper, kind="whatsapp", value="+447700900000")
    for n in range(30):
        make_ticket(tenant_a, requester=keeper, subject=f"Question {n}", channel="email")
    sign_in(client, agent, tenant_a)
    url = reverse("tickets:contact", kwargs={"contact_id": keeper.pk})
    with django_assert_max_num_queries(15):
        response = client.get(url)
    assert response.status_code == 200
    text = response.text
    for expected in ("Dana Work", "Globex", "+447700900000", "Key account", "Question 29", "VIP"):
        assert expected in text
    assert "Question 4<" not in text  # older tickets are on the next page
    older = client.get(response.context["next_url"], HTTP_HX_TARGET="contact-tickets", **HTMX)
    assert "<html" not in older.text and "Question 4<" in older.text


def test_other_tenants_contact_is_404_and_anonymous_signs_in(
    client, tenant_a, tenant_b, outsider, duo
):
    keeper, _dupe = duo
    url = reverse("tickets:contact", kwargs={"contact_id": keeper.pk})
    anonymous = client.get(url, HTTP_HOST=f"{tenant_a.slug}.localhost")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    sign_in(client, outsider, tenant_b)
    assert client.get(url).status_code == 404
    merge = reverse("tickets:contact_merge", kwargs={"contact_id": keeper.pk})
    assert client.post(merge, {"source": _dupe.pk}).status_code == 404


def test_identity_add_and_remove_through_htmx(client, tenant_a, agent, duo):
    keeper, dupe = duo
    sign_in(client, agent, tenant_a)
    add = reverse("tickets:contact_identity", kwargs={"contact_id": keeper.pk})
    response = client.post(
        add, {"kind": "telegram", "value": "@dana"}, HTTP_HX_TARGET="contact-identities", **HTMX
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert "@dana" in response.text
    clash = client.post(
        add,
        {"kind": "email", "value": "dana@home.test"},
        HTTP_HX_TARGET="contact-identities",
        **HTMX,
    )
    assert "merge the two contacts" in clash.text
    with tenant_context(tenant_a):
        identity = keeper.identities.get()
        theirs = ContactIdentity.objects.create(contact=dupe, kind="chat", value="visitor-9")
    wrong = reverse(
        "tickets:contact_identity_delete",
        kwargs={"contact_id": keeper.pk, "identity_id": theirs.pk},
    )
    assert client.post(wrong).status_code == 404  # the identity must belong to this contact
    delete = reverse(
        "tickets:contact_identity_delete",
        kwargs={"contact_id": keeper.pk, "identity_id": identity.pk},
    )
    assert client.post(delete).status_code == 302
    with tenant_context(tenant_a):
        assert not keeper.identities.exists()
        assert ContactIdentity.objects.filter(pk=theirs.pk).exists()


def test_notes_and_profile_edit(client, tenant_a, agent, duo):
    keeper, _dupe = duo
    sign_in(client, agent, tenant_a)
    url = reverse("tickets:contact_edit", kwargs={"contact_id": keeper.pk})
    notes = client.post(
        url,
        {"section": "notes", "notes": "Renewal due in May"},
        HTTP_HX_TARGET="contact-notes",
        **HTMX,
    )
    assert notes.status_code == 200 and "<html" not in notes.text and "Saved" in notes.text
    bad = client.post(
        url,
        {"profile-name": "Dana", "profile-email": "dana@home.test", "profile-tier": "standard"},
    )
    assert bad.status_code == 422 and "merge the two contacts" in bad.text
    good = client.post(
        url,
        {
            "profile-name": "Dana W.",
            "profile-email": "dana@work.test",
            "profile-tier": "premium",
            "profile-organization": "Initech",
            "profile-language": "zh-hans",
        },
    )
    assert good.status_code == 302
    _refresh(tenant_a, keeper)
    assert (keeper.name, keeper.tier, keeper.language, keeper.notes) == (
        "Dana W.",
        "premium",
        "zh-hans",
        "Renewal due in May",
    )
    with tenant_context(tenant_a):
        assert keeper.organization.name == "Initech"


def test_merge_flow_search_confirm_merge(client, tenant_a, agent, duo):
    keeper, dupe = duo
    make_ticket(tenant_a, requester=dupe, subject="From home")
    sign_in(client, agent, tenant_a)
    url = reverse("tickets:contact_merge", kwargs={"contact_id": keeper.pk})
    search = client.get(url, {"q": "dana"}, HTTP_HX_TARGET="merge-panel", **HTMX)
    assert "<html" not in search.text
    assert [c.pk for c in search.context["candidates"]] == [dupe.pk]  # never itself
    confirm = client.get(url, {"source": dupe.pk})  # without htmx: the whole page
    assert confirm.status_code == 200 and "<html" in confirm.text
    assert "1 ticket moves here" in confirm.text
    merged = client.post(url, {"source": dupe.pk})
    assert merged.status_code == 302
    _refresh(tenant_a, dupe)
    assert dupe.merged_into_id == keeper.pk
    # The duplicate's page now leads to the keeper; merging it again is a 404.
    old = client.get(reverse("tickets:contact", kwargs={"contact_id": dupe.pk}))
    assert old.status_code == 302 and old.url.endswith(f"/contacts/{keeper.pk}/")
    assert client.post(url, {"source": dupe.pk}).status_code == 404


def test_merge_refusal_is_shown_to_the_agent(client, tenant_a, agent):
    keeper = ContactFactory(tenant=tenant_a, name="Fay One")
    dupe = ContactFactory(tenant=tenant_a, name="Fay Two")
    sign_in(client, agent, tenant_a)
    url = reverse("tickets:contact_merge", kwargs={"contact_id": keeper.pk})
    confirm = client.get(url, {"source": dupe.pk})
    assert "cannot be merged" in confirm.text
    response = client.post(url, {"source": dupe.pk}, follow=True)
    assert "portal login" in response.text
    _refresh(tenant_a, dupe)
    assert dupe.merged_into_id is None
