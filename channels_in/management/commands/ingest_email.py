"""`manage.py ingest_email FILE --tenant SLUG`: one raw RFC 5322 message (FILE, or - for stdin)
through the same pipeline as every mail channel; prints the ticket number it landed on."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from channels_in.email import receive_email
from channels_in.models import InboundEmail
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Run one raw email through the inbound mail pipeline of a tenant."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of an .eml file, or - to read standard input")
        parser.add_argument("--tenant", required=True, help="the tenant's slug, e.g. acme")

    def handle(self, *args, file: str, tenant: str, **options):
        found = Tenant.objects.filter(slug=tenant, is_active=True).first()
        if found is None:
            raise CommandError(f"No active tenant {tenant!r}.")
        try:
            raw = sys.stdin.buffer.read() if file == "-" else open(file, "rb").read()  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        with tenant_context(found):
            stored = receive_email(raw, via=InboundEmail.Via.COMMAND)
            ticket = stored.ticket
            number = ticket.number if ticket is not None else None
        if stored.status == InboundEmail.Status.FAILED:
            reason = stored.error.splitlines()[0]
            raise CommandError(f"Stored as unprocessed mail #{stored.pk}, not ingested: {reason}")
        if number is None:
            self.stdout.write(f"Kept as #{stored.pk} ({stored.thread_reason}); no ticket.")
            return
        self.stdout.write(str(number))
        verbosity = options.get("verbosity", 1)
        if verbosity > 1:
            self.stderr.write(f"{stored.get_status_display()}: {stored.thread_reason}")
