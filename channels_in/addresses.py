"""Which tenant an inbound mail address belongs to (SMTP delivery decides with this).

- `support@<slug>.<base domain>` and `support+anything@<slug>.<base domain>` (the signed reply
  addresses of `tickets.outbound.reply_address()` among them) belong to tenant `<slug>`.
- Any other address belongs to the tenant whose active `Mailbox` has it, compared without
  case; `local+tag@domain` also matches a mailbox `local@domain`.
- Inactive tenants and mailboxes own nothing.

The subdomains of the base domain are ours to hand out: an address there only ever belongs
to the tenant of that subdomain, so one tenant cannot claim `billing@alpha.<base domain>` as a
mailbox and read mail meant for tenant `alpha`.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models.functions import Lower

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

from .models import Mailbox

SUPPORT_LOCAL_PART = "support"


def tenant_for_address(address: str) -> tuple[Tenant, Mailbox | None] | None:
    """The tenant mail to `address` is for, and the mailbox it came in through (None for the
    tenant's own support address), or None when no active tenant or mailbox owns it.

    Runs outside any tenant context: `Tenant` is a global table and mailboxes are looked up
    through `Mailbox.objects.all_tenants()`, the explicit cross-tenant door. The objects
    returned are read through the runtime connection (see `_runtime_copy`).
    """
    split = _split(address)
    if split is None:
        return None
    local, domain = split
    base = settings.HELPDESK_BASE_DOMAIN.lower().strip(".")
    if domain == base or domain.endswith(f".{base}"):
        return _own_address(local, domain, base)
    mailbox = _mailbox(local, domain)
    if mailbox is None:
        return None
    tenant = Tenant.objects.get(pk=mailbox.tenant_id)
    return tenant, _runtime_copy(tenant, mailbox)


def _split(address: str) -> tuple[str, str] | None:
    """(local part, domain), lower-cased; None for anything that is not local@domain."""
    address = address.strip().strip("<>").strip().lower()
    local, at, domain = address.rpartition("@")
    domain = domain.rstrip(".")
    if not at or not local or not domain or any(c.isspace() for c in address):
        return None
    return local, domain


def _own_address(local: str, domain: str, base: str) -> tuple[Tenant, Mailbox | None] | None:
    """support[+tag]@<slug>.<base>, or a mailbox on that subdomain configured by <slug>."""
    slug = domain.removesuffix(f".{base}") if domain != base else ""
    if not slug or "." in slug:
        return None  # the bare base domain, or a deeper subdomain: nobody's
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        return None
    if local.partition("+")[0] == SUPPORT_LOCAL_PART:
        return tenant, None
    mailbox = _mailbox(local, domain)
    if mailbox is not None and mailbox.tenant_id == tenant.pk:
        return tenant, _runtime_copy(tenant, mailbox)
    return None


def _mailbox(local: str, domain: str) -> Mailbox | None:
    """The active mailbox of an active tenant with this address; an exact match wins over the
    address without its +tag."""
    exact = f"{local}@{domain}"
    untagged = f"{local.partition('+')[0]}@{domain}"
    candidates = (
        Mailbox.objects.all_tenants()
        .annotate(address_lower=Lower("address"))
        .filter(address_lower__in={exact, untagged}, is_active=True, tenant__is_active=True)
    )
    found = {mailbox.address_lower: mailbox for mailbox in candidates}
    return found.get(exact) or found.get(untagged)


def _runtime_copy(tenant: Tenant, mailbox: Mailbox) -> Mailbox:
    """The mailbox read again through the runtime connection, inside its tenant.

    A row read by `all_tenants()` belongs to the owner connection, and Django routes the
    writes of any object that points at it there too (no router overrides that): an
    InboundEmail created with it would skip row-level security and the pipeline's transaction.
    """
    with tenant_context(tenant):
        return Mailbox.objects.get(pk=mailbox.pk)
