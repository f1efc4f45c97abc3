"""`manage.py run_smtpd --host 127.0.0.1 --port 2525`: the inbound SMTP server. Mail to
`support@<slug>.<base domain>` (or a mailbox address a tenant configured) lands in that tenant;
runs until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels_in.smtpd import serve
from helpdesk.tenancy.checks import enforce_runtime_role


class Command(BaseCommand):
    help = "Run the inbound SMTP server: mail to a tenant's addresses becomes tickets."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=2525, help="port to listen on")
        parser.add_argument(
            "--hostname",
            default="",
            help="name the server gives in its greeting (default: HELPDESK_BASE_DOMAIN)",
        )

    def handle(self, *args, host: str, port: int, hostname: str, **options):
        enforce_runtime_role("smtpd")
        if options.get("verbosity", 1) < 2:
            # aiosmtpd logs every SMTP command line at INFO; our handler logs each outcome.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        name = hostname or settings.HELPDESK_BASE_DOMAIN

        def ready(addresses: list[tuple[str, int]]) -> None:
            where = ", ".join(f"{h}:{p}" for h, p in addresses)
            self.stdout.write(f"SMTP server {name} listening on {where}; Ctrl-C to stop.")
            self.stdout.flush()

        try:
            asyncio.run(serve(host, port, hostname=name, on_ready=ready))
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}") from error
        self.stdout.write("SMTP server stopped.")
