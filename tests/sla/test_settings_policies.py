"""Settings › SLA policies: the form writes SLAPolicy in its stored format (conditions as
checkbox groups, targets as hours and minutes, per-priority overrides with "no target"), errors
show next to their inputs with nothing typed lost, order / pause / delete after a question,
the audit log, and who may see what."""

from __future__ import annotations

import re

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from sla import admin_services
from sla.models import SLAPolicy
from tests.helpers import sign_in
from tests.sla.factories import BusinessCalendarFactory, SLAPolicyFactory
from tickets.models import Team

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def form(**extra) -> dict:
    """The POST of the policy form for "Urgent and high", as the page names its inputs."""
    data = {
        "name": "Urgent and high",
        "is_active": "on",
        "match": "all",
        "cond_priority_op": "in",
        "cond_priority": ["urgent", "high"],
        "cond_channel_op": "not_in",
        "cond_channel": ["phone"],
        "calendar": "",
        "business_hours": "on",
        "first_response_h": "1",
        "first_response_m": "",
        "next_response_h": "2",
        "next_response_m": "",
        "resolution_h": "4",
        "resolution_m": "",
        "pp_urgent_first_response_m": "30",
        "pp_low_resolution_none": "on",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_a_policy_is_created_in_the_stored_format_and_listed_in_words(admin_client, tenant_a):
    page = text_of(admin_client.get("/settings/sla/new/"))
    assert "is any of" in page and "is none of" in page and "Preview impact" in page
    response = admin_client.post("/settings/sla/new/", form())
    assert response.status_code == 302, text_of(response)[:3000]
    with tenant_context(tenant_a):
        policy = SLAPolicy.objects.get()
        assert policy.conditions == [
            {"field": "priority", "op": "in", "value": ["urgent", "high"]},
            {"field": "channel", "op": "not_in", "value": ["phone"]},
        ]
        assert (policy.match, policy.is_active, policy.business_hours, policy.calendar) == (
            "all", True, True, None)  # fmt: skip
        assert (policy.first_response_minutes, policy.next_response_minutes,
                policy.resolution_minutes) == (60, 120, 240)  # fmt: skip
        assert policy.per_priority == {"urgent": {"first_response": 30},
                                       "low": {"resolution": None}}  # fmt: skip
        assert policy.position == 1
        assert AuditEvent.objects.filter(action="sla_policy.create").count() == 1
    listing = text_of(admin_client.get("/settings/sla/"))
    assert "Urgent and high" in listing
    assert "Priority is any of Urgent, High and Channel is none of Phone" in listing
    assert "1 h / 2 h / 4 h" in listing
    assert "Own targets for Low, Urgent" in listing
    assert "Calendar time (24/7)" in listing and "no default calendar yet" in listing
    assert "to open tickets the next time their priority, team, category or channel" in listing


def test_the_edit_form_shows_the_policy_as_stored(admin_client, tenant_a):
    with tenant_context(tenant_a):
        calendar = BusinessCalendarFactory(tenant=tenant_a, name="Beijing office")
        team = Team.objects.create(name="Billing", tier=2)
        policy = SLAPolicyFactory(
            tenant=tenant_a, name="VIP", match="any", calendar=calendar,
            conditions=[{"field": "requester_tier", "op": "in", "value": ["vip"]},
                        {"field": "team", "op": "not_in", "value": [str(team.pk)]}],
            first_response_minutes=90, next_response_minutes=None, resolution_minutes=960,
            per_priority={"urgent": {"first_response": 30, "resolution": None}},
        )  # fmt: skip
    page = admin_client.get(f"/settings/sla/{policy.pk}/").content.decode()
    assert 'value="VIP"' in page
    assert re.search(r'name="match" value="any"[^>]*checked', page)
    assert re.search(r'name="cond_requester_tier" value="vip"[^>]*checked', page)
    assert re.search(rf'name="cond_team" value="{team.pk}"[^>]*checked', page)
    assert re.search(r'name="cond_team_op" value="not_in"[^>]*checked', page)
    assert re.search(rf'<option value="{calendar.pk}" selected>Beijing office', page)
    assert re.search(r'name="first_response_h" value="1"', page)
    assert re.search(r'name="first_response_m" value="30"', page)
    assert re.search(r'name="next_response_h"(?![^>]*value=)', page)
    assert re.search(r'name="resolution_h" value="16"', page)
    assert re.search(r'name="pp_urgent_first_response_m" value="30"', page)
    assert re.search(r'name="pp_urgent_resolution_none"[^>]*checked', page)
    assert '<details class="sla-overrides" open>' in page
    listing = text_of(admin_client.get("/settings/sla/"))
    assert "Customer tier is any of VIP or Team is none of Billing" in listing
    assert "1 h 30 min / — / 16 h" in listing and "Beijing office" in listing
    # Saved again unchanged: nothing to audit.
    data = {"name": "VIP", "is_active": "on", "match": "any", "calendar": str(calendar.pk),
            "business_hours": "on", "cond_requester_tier_op": "in", "cond_requester_tier": "vip",
            "cond_team_op": "not_in", "cond_team": str(team.pk), "first_response_h": "1",
            "first_response_m": "30", "resolution_h": "16", "pp_urgent_first_response_m": "30",
            "pp_urgent_resolution_none": "on"}  # fmt: skip
    assert admin_client.post(f"/settings/sla/{policy.pk}/", data).status_code == 302
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(action="sla_policy.update").exists()
        data["business_hours"] = ""
        assert admin_client.post(f"/settings/sla/{policy.pk}/", data).status_code == 302
        assert AuditEvent.objects.get(action="sla_policy.update").data["fields"] == [
            "business_hours"
        ]
        assert SLAPolicy.objects.get().business_hours is False


def test_errors_show_next_to_their_inputs_and_nothing_typed_is_lost(admin_client, tenant_a):
    bad = form(first_response_h="0", first_response_m="0", pp_low_resolution_h="3",
               resolution_m="-5", name="Urgent and high")  # fmt: skip
    response = admin_client.post("/settings/sla/new/", bad)
    assert response.status_code == 422
    page = text_of(response)
    assert "A target of 0 minutes is late at once" in page
    assert "Give a time or tick “no target”, not both." in page
    assert "Ensure this value is greater than or equal to 0." in page
    assert 'value="Urgent and high"' in page and 'name="pp_low_resolution_h" value="3"' in page
    assert re.search(r'name="cond_priority" value="urgent"[^>]*checked', page)
    assert admin_client.post("/settings/sla/new/", form(name="  ")).status_code == 422
    assert admin_client.post("/settings/sla/new/", form(cond_priority="soon")).status_code == 422
    with tenant_context(tenant_a):
        assert not SLAPolicy.objects.exists()
    # A name taken (in any case) is refused with a sentence, not a 500.
    assert admin_client.post("/settings/sla/new/", form()).status_code == 302
    response = admin_client.post("/settings/sla/new/", form(name="URGENT and high"))
    assert response.status_code == 422
    assert "There is already a policy called “URGENT and high”." in text_of(response)


def test_no_conditions_and_no_targets_are_allowed(admin_client, tenant_a):
    data = {"name": "Everything else", "match": "all", "business_hours": "", "is_active": "on",
            "resolution_h": "72"}  # fmt: skip
    assert admin_client.post("/settings/sla/new/", data).status_code == 302
    with tenant_context(tenant_a):
        policy = SLAPolicy.objects.get()
    assert policy.conditions == [] and policy.per_priority == {}
    assert (policy.first_response_minutes, policy.resolution_minutes) == (None, 72 * 60)
    listing = text_of(admin_client.get("/settings/sla/"))
    assert "Every ticket" in listing and "— / — / 72 h" in listing


def test_the_service_refuses_what_the_form_cannot_send(tenant_a, admin):
    with tenant_context(tenant_a):
        with pytest.raises(admin_services.SettingsError, match="unknown value"):
            admin_services.policy_save(actor=admin, name="x", match="all", conditions=[
                {"field": "priority", "op": "in", "value": ["soon"]}])  # fmt: skip
        with pytest.raises(admin_services.SettingsError, match="whole minutes"):
            admin_services.policy_save(actor=admin, name="x", match="all",
                                       first_response_minutes=-1)  # fmt: skip
        with pytest.raises(admin_services.SettingsError, match="unknown target"):
            admin_services.policy_save(actor=admin, name="x", match="all",
                                       per_priority={"urgent": {"lunch": 5}})  # fmt: skip


def test_order_pause_and_delete(admin_client, tenant_a):
    with tenant_context(tenant_a):
        first = SLAPolicyFactory(tenant=tenant_a, name="First", position=1)
        second = SLAPolicyFactory(tenant=tenant_a, name="Second", position=2)
    response = admin_client.post(f"/settings/sla/{second.pk}/move/", {"direction": "up"})
    assert response.status_code == 302 and response.url.endswith(f"#policy-{second.pk}")
    with tenant_context(tenant_a):
        assert list(SLAPolicy.objects.values_list("name", flat=True)) == ["Second", "First"]
    # htmx gets the list back in its new order, for the swap
    response = admin_client.post(f"/settings/sla/{second.pk}/move/", {"direction": "down"}, **HTMX)
    page = text_of(response)
    assert response.status_code == 200
    assert page.strip().startswith('<section class="card" id="policies"')
    assert page.index("First") < page.index("Second")
    response = admin_client.post(f"/settings/sla/{first.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert SLAPolicy.objects.get(pk=first.pk).is_active is False
        assert AuditEvent.objects.filter(action="sla_policy.deactivate").count() == 1
    assert "Paused" in text_of(admin_client.get("/settings/sla/"))
    # Delete: a question first, then a POST.
    confirm = text_of(admin_client.get(f"/settings/sla/{first.pk}/delete/"))
    assert "Delete the SLA policy “First”?" in confirm and "Keep it" in confirm
    with tenant_context(tenant_a):
        assert SLAPolicy.objects.count() == 2
    assert admin_client.post(f"/settings/sla/{first.pk}/delete/").status_code == 302
    with tenant_context(tenant_a):
        assert list(SLAPolicy.objects.values_list("name", flat=True)) == ["Second"]
        assert AuditEvent.objects.filter(action="sla_policy.delete").count() == 1


def test_empty_list_says_what_policies_are_for(admin_client):
    page = text_of(admin_client.get("/settings/sla/"))
    assert "No SLA policies yet" in page and 'href="/settings/sla/new/"' in page


def test_settings_index_links_the_sla_pages(admin_client):
    page = admin_client.get("/settings/").content.decode()
    assert 'href="/settings/sla/"' in page and 'href="/settings/sla/calendars/"' in page


def test_the_list_answers_in_a_fixed_number_of_queries(
    admin_client, tenant_a, django_assert_max_num_queries
):
    with tenant_context(tenant_a):
        calendar = BusinessCalendarFactory(tenant=tenant_a)
        for n in range(15):
            SLAPolicyFactory(tenant=tenant_a, calendar=calendar if n % 2 else None)
    with django_assert_max_num_queries(14):
        assert admin_client.get("/settings/sla/").status_code == 200


POLICY_URLS = ["/settings/sla/{p}/", "/settings/sla/{p}/delete/"]
POLICY_POSTS = ["/settings/sla/{p}/move/", "/settings/sla/{p}/active/",
                "/settings/sla/{p}/delete/", "/settings/sla/{p}/"]  # fmt: skip


def test_agents_get_403_and_other_tenants_404(client, tenant_a, tenant_b, agent, outsider):
    with tenant_context(tenant_a):
        policy = SLAPolicyFactory(tenant=tenant_a, name="Alpha's")
    sign_in(client, agent, tenant_a)
    for path in ["/settings/sla/", "/settings/sla/new/", *POLICY_URLS]:
        assert client.get(path.format(p=policy.pk)).status_code == 403, path
    for path in [*POLICY_POSTS, "/settings/sla/what-if/"]:
        assert client.post(path.format(p=policy.pk), {"direction": "up"}).status_code == 403, path
    sign_in(client, outsider, tenant_a)  # a forged session claiming tenant A
    assert client.get("/settings/sla/").status_code == 404
    sign_in(client, outsider, tenant_b)  # B's own admin, with A's policy id
    assert client.get("/settings/sla/").status_code == 200
    for path in POLICY_URLS:
        assert client.get(path.format(p=policy.pk)).status_code == 404, path
    for path in POLICY_POSTS:
        assert client.post(path.format(p=policy.pk), form()).status_code == 404, path
    response = client.post("/settings/sla/what-if/", form(policy_id=str(policy.pk)))
    assert response.status_code == 404
    with tenant_context(tenant_a):
        stored = SLAPolicy.objects.get()
    assert (stored.name, stored.is_active, stored.position) == ("Alpha's", True, policy.position)
    client.logout()
    response = client.get("/settings/sla/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
