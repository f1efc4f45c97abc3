from django.core.management.base import BaseCommand, CommandError

from helpdesk.accounts.models import User
from helpdesk.accounts.selectors import membership_for_user
from helpdesk.accounts.services import api_token_create
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Print a new API token for a staff member of a tenant (shown once, stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--name", default="Command-line token")

    def handle(self, email, tenant, name, **options):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        with tenant_context(tenant_obj):
            user = User.objects.filter(email__iexact=email).first()
            if user is None or membership_for_user(user) is None:
                raise CommandError(f"{email} is not an active member of {tenant}.")
            _token, secret = api_token_create(user=user, name=name)
        self.stdout.write(secret)
