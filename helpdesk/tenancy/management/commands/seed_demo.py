from django.core.management.base import BaseCommand

from helpdesk.demo import PASSWORD, seed
from helpdesk.tenancy.resolve import tenant_base_url


class Command(BaseCommand):
    help = "Create (or top up) the demo tenants acme and huaxia. Safe to run again."

    def handle(self, *args, **options):
        for tenant in seed():
            self.stdout.write(f"{tenant.slug}: {tenant_base_url(tenant)}/ ({tenant.name})")
        self.stdout.write(f"Demo password for every demo login: {PASSWORD}")
