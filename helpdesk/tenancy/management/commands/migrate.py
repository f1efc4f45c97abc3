"""`migrate` runs as the owning role (the `owner` connection) unless told otherwise: the runtime
role can read and write rows but must never own or alter the schema."""

from django.core.management.commands.migrate import Command as DjangoMigrate

from helpdesk.tenancy.routers import OWNER_DB


class Command(DjangoMigrate):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database=OWNER_DB)
