"""`manage.py rotate_secrets`: re-encrypt every stored secret (every EncryptedCharField of every
tenant) with the first key of HELPDESK_SECRET_KEYS; plaintext left from before encryption is
encrypted too.

Key rotation: put the new key first in HELPDESK_SECRET_KEYS and keep the old one after it,
restart, run this, then drop the old key. Safe to run again: values already encrypted with the
first key are left alone, and each row is rewritten only if it still holds what was read
(compare-and-swap), so a secret an admin saves meanwhile is never overwritten.

Cross-tenant by nature: it reads and writes through the explicit `all_tenants()` door (the
owner connection), never through a tenant's context.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

from helpdesk.lib.secrets import (
    SETTING,
    SecretKeyError,
    decrypt,
    encrypted_fields,
    needs_rotation,
)
from helpdesk.tenancy.routers import OWNER_DB


def every_row(model: type[models.Model]) -> models.QuerySet:
    manager = model._default_manager
    if hasattr(manager, "all_tenants"):
        return manager.all_tenants()
    return model._base_manager.using(OWNER_DB)


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret of every tenant with the first key of "
        f"{SETTING} (after adding a new key, or to encrypt plaintext left from before)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows read at a time")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change, write nothing"
        )

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        changed = unreadable = 0
        for model, fields in encrypted_fields():
            for field in fields:
                result = self.rotate(model, field, batch_size=batch_size, dry_run=dry_run)
                changed += result["rotated"]
                unreadable += result["unreadable"]
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(f"Done: {changed} value(s) {verb}.")
        if unreadable:
            raise CommandError(
                f"{unreadable} value(s) could not be decrypted with any key in {SETTING}: "
                "add the key they were encrypted with (after the current one) and run again."
            )

    def rotate(self, model, field, *, batch_size: int, dry_run: bool) -> dict[str, int]:
        label = f"{model._meta.label}.{field.name}"
        stored = Cast(field.attname, output_field=models.TextField())  # the raw column
        rows = every_row(model)
        total = rows.count()
        counts = {"rotated": 0, "current": 0, "empty": 0, "unreadable": 0, "changed_meanwhile": 0}
        self.stdout.write(f"{label}: {total} row(s)")
        last_pk, seen = None, 0
        while True:
            batch = rows.order_by("pk").annotate(_stored=stored)
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            page = list(batch.values_list("pk", "_stored")[:batch_size])
            if not page:
                break
            for pk, value in page:
                counts[self.rotate_one(rows, field, stored, pk, value, label, dry_run)] += 1
            last_pk, seen = page[-1][0], seen + len(page)
            if total > batch_size:
                self.stdout.write(f"  … {seen}/{total}")
        self.stdout.write(
            f"  {counts['rotated']} {'to re-encrypt' if dry_run else 're-encrypted'}, "
            f"{counts['current']} already current, {counts['empty']} empty"
            + (f", {counts['unreadable']} UNREADABLE" if counts["unreadable"] else "")
            + (
                f", {counts['changed_meanwhile']} changed meanwhile (left as saved)"
                if counts["changed_meanwhile"]
                else ""
            )  # fmt: skip
        )
        return counts

    def rotate_one(self, rows, field, stored, pk, value, label, dry_run) -> str:
        if not value:
            return "empty"
        if not needs_rotation(value):
            return "current"
        try:
            plain = decrypt(value, what=f"{label} of row {pk}")
        except SecretKeyError as error:
            self.stderr.write(f"  row {pk}: {error}")
            return "unreadable"
        if dry_run:
            return "rotated"
        # The field encrypts the plain value with the first key; only if the row still holds
        # what was read.
        updated = rows.filter(Exact(stored, value), pk=pk).update(**{field.attname: plain})
        return "rotated" if updated else "changed_meanwhile"
