"""/agent/contacts/… and /agent/canned/ (namespace "tickets")."""

from django.urls import path

from .views import contacts

urlpatterns = [
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/<int:contact_id>/", contacts.contact_detail, name="contact"),
    path("contacts/<int:contact_id>/edit/", contacts.contact_edit, name="contact_edit"),
    path(
        "contacts/<int:contact_id>/identities/",
        contacts.contact_identity_add,
        name="contact_identity",
    ),
    path(
        "contacts/<int:contact_id>/identities/<int:identity_id>/delete/",
        contacts.contact_identity_delete,
        name="contact_identity_delete",
    ),
    path("contacts/<int:contact_id>/merge/", contacts.contact_merge, name="contact_merge"),
    path("canned/", contacts.my_canned, name="my_canned"),
    path("canned/<int:canned_id>/", contacts.my_canned_edit, name="my_canned_edit"),
    path("canned/<int:canned_id>/delete/", contacts.my_canned_delete, name="my_canned_delete"),
]
