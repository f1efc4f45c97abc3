"""/settings/… pages of the ticket app, inside the shared "settings" namespace."""

from django.urls import path

from .views import classification, settings

urlpatterns = [
    path("canned-responses/", settings.canned, name="canned"),
    path("canned-responses/<int:canned_id>/", settings.canned_edit, name="canned_edit"),
    path(
        "canned-responses/<int:canned_id>/delete/",
        settings.canned_delete,
        name="canned_delete",
    ),
    path("teams/", settings.teams, name="teams"),
    path("teams/<int:team_id>/", settings.team_edit, name="team_edit"),
    path(
        "teams/<int:team_id>/members/<int:member_id>/remove/",
        settings.team_member_remove,
        name="team_member_remove",
    ),
    path("custom-fields/", settings.fields, name="fields"),
    path("custom-fields/<int:field_id>/", settings.field_edit, name="field_edit"),
    path("classification/", classification.classification, name="classification"),
    path(
        "classification/rules/<int:keyword_rule_id>/",
        classification.classification_rule,
        name="classification_rule",
    ),
    path(
        "classification/rules/<int:keyword_rule_id>/delete/",
        classification.classification_rule_delete,
        name="classification_rule_delete",
    ),
    path(
        "classification/built-in/",
        classification.classification_defaults,
        name="classification_defaults",
    ),
    path("classification/train/", classification.classification_train, name="classification_train"),
]

# Settings › Triggers and Macros, and the rule builder's row endpoint (tickets.urls_automation).
from .urls_automation import settings_patterns as _automation  # noqa: E402

urlpatterns += _automation

# Settings › Routing, Auto-replies and Agents, and the availability menu (views.routing_settings).
from .views import routing_settings as routing  # noqa: E402

urlpatterns += [
    path("routing/", routing.routing_list, name="routing"),
    path("routing/new/", routing.routing_new, name="routing_new"),
    path("routing/test/", routing.routing_test, name="routing_test"),
    path("routing/<int:rule_id>/", routing.routing_edit, name="routing_edit"),
    path("routing/<int:rule_id>/active/", routing.routing_active, name="routing_active"),
    path("routing/<int:rule_id>/move/", routing.routing_move, name="routing_move"),
    path("routing/<int:rule_id>/delete/", routing.routing_delete, name="routing_delete"),
    path("auto-replies/", routing.auto_reply_list, name="auto_replies"),
    path("auto-replies/new/", routing.auto_reply_new, name="auto_reply_new"),
    path("auto-replies/preview/", routing.auto_reply_preview, name="auto_reply_preview"),
    path("auto-replies/<int:auto_reply_id>/", routing.auto_reply_edit, name="auto_reply_edit"),
    path(
        "auto-replies/<int:auto_reply_id>/delete/",
        routing.auto_reply_delete,
        name="auto_reply_delete",
    ),
    path("agents/", routing.agents, name="agents"),
    path("agents/<int:membership_id>/", routing.agent_update, name="agent_update"),
    path("availability/", routing.availability, name="availability"),
]
