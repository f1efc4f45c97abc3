from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import TenantModel


class Contact(TenantModel):
    """A customer of one tenant. With `user` set they can sign in to the tenant's portal."""

    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("portal login"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("email"),
                condition=~Q(email=""),
                name="contact_tenant_email_uniq",
            ),
            models.UniqueConstraint(
                fields=["tenant", "user"],
                condition=Q(user__isnull=False),
                name="contact_tenant_user_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email
