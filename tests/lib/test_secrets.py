"""Secrets at rest (helpdesk.lib.secrets): what Postgres holds is a Fernet token, never the
secret; the ORM gives the plain value back; old keys still decrypt and `rotate_secrets`
re-encrypts with the new one (once: a second run changes nothing); plaintext from before is
read as it is; a wrong key is an error naming the setting; the data migration encrypts what is
already stored; IMAP polling logs in with the decrypted password."""

from __future__ import annotations

import importlib
import io
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from channels_in.imap import poll_mailbox
from channels_in.models import Mailbox, MessagingChannel
from helpdesk.lib import secrets
from helpdesk.lib.secrets import EncryptedCharField, SecretKeyError
from helpdesk.tenancy.context import tenant_context
from tests.imap_server import DovecotUnavailable, dovecot_server
from tickets.models import Ticket

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
MIGRATION = importlib.import_module("channels_in.migrations.0006_encrypted_secrets")


def raw(tenant, model, pk: int, column: str) -> str:
    """The column as Postgres stores it, read past the ORM (row-level security still applies)."""
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{model._meta.db_table}" WHERE id = %s', [pk])
        return cursor.fetchone()[0]


def write_raw(tenant, model, pk: int, column: str, value: str) -> None:
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{model._meta.db_table}" SET "{column}" = %s WHERE id = %s', [value, pk]
        )


PASSWORD = "imap-pa55word"


def make_mailbox(tenant, password=PASSWORD, **fields) -> Mailbox:
    values = {"name": "Help", "address": f"help@{tenant.slug}.example", "kind": "imap",
              "imap_host": "imap.example", "imap_username": "help", "imap_password": password,
              **fields}  # fmt: skip
    with tenant_context(tenant):
        return Mailbox.objects.create(**values)


def make_channel(tenant, **fields) -> MessagingChannel:
    values = {"provider": "telegram", "name": "Bot", "bot_token": "123:bot-secret",
              "token": "hook-secret", **fields}  # fmt: skip
    with tenant_context(tenant):
        return MessagingChannel.objects.create(**values)


def reload(tenant, obj):
    with tenant_context(tenant):
        return type(obj).objects.get(pk=obj.pk)


def fernet_plain(key: str, stored: str) -> str:
    assert stored.startswith("enc1:")
    return Fernet(key).decrypt(stored.removeprefix("enc1:").encode()).decode()


# --- The field --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_postgres_holds_a_token_the_orm_the_secret(tenant_a, settings):
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY]
    box = make_mailbox(tenant_a)
    channel = make_channel(tenant_a, app_secret="meta-app-secret", verify_token="verify-me")

    stored = raw(tenant_a, Mailbox, box.pk, "imap_password")
    assert "imap-pa55word" not in stored and stored.startswith("enc1:")
    assert fernet_plain(NEW_KEY, stored) == "imap-pa55word"
    expected = {"bot_token": "123:bot-secret", "token": "hook-secret",
                "app_secret": "meta-app-secret", "verify_token": "verify-me"}  # fmt: skip
    for column, secret in expected.items():
        value = raw(tenant_a, MessagingChannel, channel.pk, column)
        assert secret not in value and value.startswith("enc1:"), column
    # Each encryption differs (random IV): equal secrets do not look equal in the table.
    other = make_channel(tenant_a, name="Bot 2")
    assert raw(tenant_a, MessagingChannel, other.pk, "token") != raw(
        tenant_a, MessagingChannel, channel.pk, "token"
    )

    assert reload(tenant_a, box).imap_password == "imap-pa55word"
    again = reload(tenant_a, channel)
    assert (again.bot_token, again.app_secret, again.verify_token) == (
        "123:bot-secret", "meta-app-secret", "verify-me",
    )  # fmt: skip
    with tenant_context(tenant_a):
        assert Mailbox.objects.values_list("imap_password", flat=True).get() == "imap-pa55word"
        # An UPDATE through the queryset encrypts as well.
        Mailbox.objects.filter(pk=box.pk).update(imap_password="changed-pw")
    assert "changed-pw" not in raw(tenant_a, Mailbox, box.pk, "imap_password")
    assert reload(tenant_a, box).imap_password == "changed-pw"


@pytest.mark.django_db
def test_empty_stays_empty_and_unicode_round_trips(tenant_a, settings):
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY]
    channel = make_channel(tenant_a, encoding_aes_key="", app_secret="密钥-ß-🔑")
    assert raw(tenant_a, MessagingChannel, channel.pk, "encoding_aes_key") == ""
    again = reload(tenant_a, channel)
    assert (again.encoding_aes_key, again.app_secret) == ("", "密钥-ß-🔑")


@pytest.mark.django_db
def test_without_keys_one_is_derived_from_secret_key(tenant_a, settings):
    settings.HELPDESK_SECRET_KEYS = []
    box = make_mailbox(tenant_a)
    stored = raw(tenant_a, Mailbox, box.pk, "imap_password")
    assert fernet_plain(secrets.derived_key(settings.SECRET_KEY), stored) == "imap-pa55word"
    assert reload(tenant_a, box).imap_password == "imap-pa55word"


@pytest.mark.django_db
def test_legacy_plaintext_is_read_as_it_is(tenant_a):
    box = make_mailbox(tenant_a)
    write_raw(tenant_a, Mailbox, box.pk, "imap_password", "stored-before-encryption")
    assert reload(tenant_a, box).imap_password == "stored-before-encryption"


@pytest.mark.django_db
def test_a_value_no_key_decrypts_is_a_clear_error(tenant_a, settings):
    settings.HELPDESK_SECRET_KEYS = [OLD_KEY]
    box = make_mailbox(tenant_a)
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY]  # the old key was dropped too early
    with pytest.raises(SecretKeyError) as error:
        reload(tenant_a, box)
    message = str(error.value)
    assert "HELPDESK_SECRET_KEYS" in message and "channels_in.Mailbox.imap_password" in message
    assert "imap-pa55word" not in message


@pytest.mark.django_db
def test_the_encrypted_column_cannot_be_filtered_on(tenant_a):
    with tenant_context(tenant_a), pytest.raises(FieldError, match="encrypted"):
        list(Mailbox.objects.filter(imap_password="imap-pa55word"))


def test_a_malformed_key_is_a_system_check_error(settings):
    settings.HELPDESK_SECRET_KEYS = ["not-a-fernet-key"]
    errors = secrets.check_secret_keys()
    assert [e.id for e in errors] == ["lib.E001"]
    assert "HELPDESK_SECRET_KEYS" in errors[0].msg
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY, OLD_KEY]
    assert secrets.check_secret_keys() == []
    assert secrets.check_secret_keys_set() == []
    settings.HELPDESK_SECRET_KEYS = []
    assert [w.id for w in secrets.check_secret_keys_set()] == ["lib.W001"]


def test_the_setting_may_be_one_comma_separated_string(settings):
    settings.HELPDESK_SECRET_KEYS = f" {NEW_KEY} , {OLD_KEY} "
    assert secrets.configured_keys() == (NEW_KEY, OLD_KEY)
    assert fernet_plain(NEW_KEY, secrets.encrypt("x")) == "x"


def test_deconstruct_is_stable_and_carries_no_key_material():
    field = Mailbox._meta.get_field("imap_password")
    name, path, args, kwargs = field.deconstruct()
    assert path == "helpdesk.lib.secrets.EncryptedCharField"
    assert kwargs == {"blank": True, "max_length": 200, "verbose_name": "IMAP password"}
    assert EncryptedCharField(*args, **kwargs).deconstruct()[1:] == (path, args, kwargs)


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = io.StringIO()
    call_command("makemigrations", "channels_in", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


# --- Rotation and the data migration (the owner connection sees committed rows only) ----------

committed = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_secrets", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@committed
def test_rotation_old_key_decrypts_and_rotate_secrets_re_encrypts_once(
    tenant_a, tenant_b, settings
):
    settings.HELPDESK_SECRET_KEYS = [OLD_KEY]
    box_a = make_mailbox(tenant_a)
    box_b = make_mailbox(tenant_b, password="bravo-pw")
    channel = make_channel(tenant_b, app_secret="bravo-app-secret")
    legacy = make_channel(tenant_a, name="From before")
    write_raw(tenant_a, MessagingChannel, legacy.pk, "bot_token", "plain-bot-token")

    settings.HELPDESK_SECRET_KEYS = [NEW_KEY, OLD_KEY]  # the new key first, the old one kept
    assert reload(tenant_a, box_a).imap_password == "imap-pa55word"

    dry = rotate("--dry-run")
    assert "Done: 7 value(s) would be re-encrypted." in dry
    assert fernet_plain(OLD_KEY, raw(tenant_a, Mailbox, box_a.pk, "imap_password"))

    out = rotate()
    assert "channels_in.Mailbox.imap_password: 2 row(s)" in out
    assert "2 re-encrypted, 0 already current, 0 empty" in out
    assert "Done: 7 value(s) re-encrypted." in out
    assert fernet_plain(NEW_KEY, raw(tenant_a, Mailbox, box_a.pk, "imap_password")) == (
        "imap-pa55word"
    )
    assert fernet_plain(NEW_KEY, raw(tenant_b, Mailbox, box_b.pk, "imap_password")) == "bravo-pw"
    assert fernet_plain(NEW_KEY, raw(tenant_b, MessagingChannel, channel.pk, "app_secret")) == (
        "bravo-app-secret"
    )
    assert fernet_plain(NEW_KEY, raw(tenant_a, MessagingChannel, legacy.pk, "bot_token")) == (
        "plain-bot-token"
    )

    again = rotate()  # idempotent: nothing left to do
    assert "Done: 0 value(s) re-encrypted." in again
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY]  # the old key can go now
    assert reload(tenant_b, channel).app_secret == "bravo-app-secret"
    assert reload(tenant_a, legacy).bot_token == "plain-bot-token"


@committed
def test_rotate_secrets_reports_values_no_key_decrypts(tenant_a, settings):
    settings.HELPDESK_SECRET_KEYS = [OLD_KEY]
    box = make_mailbox(tenant_a)
    make_mailbox(tenant_a, password="fine", address="fine@alpha.example")
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY]
    with tenant_context(tenant_a):
        Mailbox.objects.filter(address="fine@alpha.example").update(imap_password="fine")
    with pytest.raises(CommandError, match="1 value.*HELPDESK_SECRET_KEYS"):
        rotate()
    settings.HELPDESK_SECRET_KEYS = [OLD_KEY]
    assert fernet_plain(OLD_KEY, raw(tenant_a, Mailbox, box.pk, "imap_password"))  # untouched


@committed
def test_data_migration_encrypts_stored_rows_and_reverses(tenant_a, tenant_b, settings):
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY]
    box = make_mailbox(tenant_a)
    channel = make_channel(tenant_b, encoding_aes_key="")
    # As the rows were before 0006: plain text in the columns.
    write_raw(tenant_a, Mailbox, box.pk, "imap_password", "legacy-imap")
    write_raw(tenant_b, MessagingChannel, channel.pk, "token", "legacy-token")
    owner = SimpleNamespace(connection=connections["owner"])

    MIGRATION.encrypt_stored(apps, owner)
    assert fernet_plain(NEW_KEY, raw(tenant_a, Mailbox, box.pk, "imap_password")) == "legacy-imap"
    token = raw(tenant_b, MessagingChannel, channel.pk, "token")
    assert fernet_plain(NEW_KEY, token) == "legacy-token"
    assert raw(tenant_b, MessagingChannel, channel.pk, "encoding_aes_key") == ""
    MIGRATION.encrypt_stored(apps, owner)  # again: what is encrypted stays as it is
    assert raw(tenant_b, MessagingChannel, channel.pk, "token") == token

    MIGRATION.decrypt_stored(apps, owner)
    assert raw(tenant_a, Mailbox, box.pk, "imap_password") == "legacy-imap"
    assert raw(tenant_b, MessagingChannel, channel.pk, "token") == "legacy-token"


@committed
def test_data_migration_refuses_a_role_row_level_security_binds(tenant_a):
    make_mailbox(tenant_a)
    with pytest.raises(RuntimeError, match="owner role"):
        MIGRATION.encrypt_stored(apps, SimpleNamespace(connection=connections["default"]))


# --- IMAP still logs in ------------------------------------------------------------------------


@committed
def test_imap_polling_logs_in_with_the_decrypted_password(tenant_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_SECRET_KEYS = [NEW_KEY]
    try:
        with dovecot_server({"support": "dovecot-pa55"}) as server:
            message = EmailMessage()
            message["From"], message["To"] = "carol@customer.test", "support@alpha.example"
            message["Subject"], message["Message-ID"] = "Encrypted login", "<enc-1@customer.test>"
            message.set_content("Hello")
            server.append("support", message.as_bytes())
            box = make_mailbox(
                tenant_a, password="dovecot-pa55", imap_host=server.host, imap_port=server.port,
                imap_ssl=False, imap_username="support",
            )  # fmt: skip
            assert "dovecot-pa55" not in raw(tenant_a, Mailbox, box.pk, "imap_password")
            with tenant_context(tenant_a):
                result = poll_mailbox(Mailbox.objects.get(pk=box.pk))
    except DovecotUnavailable as error:
        pytest.skip(f"no IMAP server for this test: {error}")
    assert (result.error, result.ingested) == ("", 1)
    with tenant_context(tenant_a):
        assert Ticket.objects.get().subject == "Encrypted login"
