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
