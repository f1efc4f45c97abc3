"""Secrets at rest: model fields whose database value is encrypted (Fernet, AES-128-CBC with an
HMAC-SHA256), so a copy of the database or a backup does not hand out IMAP passwords and
messaging app secrets.

- `EncryptedCharField`: the Python value is the plain str; the column holds
  "enc1:" + a Fernet token. The empty string stays empty (an unset credential; nothing to
  hide), and a value without the marker is read as it is (rows written before the field was
  encrypted). The column cannot be filtered on (each encryption of a value differs).
- Keys: settings.HELPDESK_SECRET_KEYS, a list of Fernet keys (the environment variable is
  comma-separated). The first encrypts; every one decrypts, so a new key goes first, the old
  one stays behind it until `manage.py rotate_secrets` has re-encrypted everything. Unset, one
  key is derived from SECRET_KEY with HKDF: good for development, but in production set keys
  of your own (a leaked or changed SECRET_KEY would otherwise expose or lose the secrets).
- A marked value that no key decrypts raises SecretKeyError naming the setting: never a
  silent wrong value.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django import forms
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import FieldError
from django.db import models

PREFIX = "enc1:"
SETTING = "HELPDESK_SECRET_KEYS"


class SecretKeyError(RuntimeError):
    """A stored secret could not be decrypted (or a configured key is not a Fernet key)."""


def configured_keys() -> tuple[str, ...]:
    value = getattr(settings, SETTING, None) or ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(key.strip() for key in value if key and key.strip())


def derived_key(secret_key: str) -> str:
    """The Fernet key used when HELPDESK_SECRET_KEYS is unset, derived from SECRET_KEY."""
    raw = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"helpdesk.lib.secrets",
        info=b"field encryption v1",
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw).decode()


@functools.lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...], secret_key: str) -> tuple[MultiFernet, Fernet]:
    fernets = []
    for position, key in enumerate(keys or (derived_key(secret_key),), start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"{SETTING}: key {position} is not a Fernet key (32 url-safe base64-encoded "
                'bytes; make one with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`).'
            ) from None
    return MultiFernet(fernets), fernets[0]


def _current() -> tuple[MultiFernet, Fernet]:
    return _fernets(configured_keys(), settings.SECRET_KEY)


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX)


def encrypt(plain: str) -> str:
    """The stored form of `plain` (the empty string stays empty)."""
    if not plain:
        return plain
    multi, _primary = _current()
    return PREFIX + multi.encrypt(plain.encode()).decode("ascii")


def decrypt(stored: str, *, what: str = "a stored secret") -> str:
    """The plain value of a stored one; unmarked (legacy plaintext) values come back as they are."""
    if not is_encrypted(stored):
        return stored
    multi, _primary = _current()
    try:
        return multi.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SecretKeyError(
            f"Cannot decrypt {what}: none of the keys in {SETTING} (or, when it is unset, the "
            "key derived from DJANGO_SECRET_KEY) is the one it was encrypted with. Put that key "
            f"back into {SETTING} (after the current one) and run `manage.py rotate_secrets`."
        ) from None


def needs_rotation(stored: str) -> bool:
    """True when the stored value is plaintext or not encrypted with the first (current) key."""
    if not stored:
        return False
    if not is_encrypted(stored):
        return True
    _multi, primary = _current()
    try:
        primary.decrypt(stored[len(PREFIX) :].encode("ascii"))
    except (InvalidToken, UnicodeError):
        return True
    return False


class EncryptedCharField(models.TextField):
    """A CharField-like text field stored encrypted; see the module docstring.

    `max_length` limits the plain value (forms and model validation); the column is `text`,
    since the stored form is about 1.4 × longer plus ~100 characters."""

    description = "Text stored encrypted"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            from django.core.validators import MaxLengthValidator

            self.validators.append(MaxLengthValidator(self.max_length))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        return decrypt(value, what=self._label())

    def to_python(self, value):
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return value
        return encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self._label()} is encrypted: filtering on it ({lookup_name}) cannot match."
        )

    def formfield(self, **kwargs):
        # A one-line input like CharField's, not TextField's textarea.
        defaults = {"max_length": self.max_length, "form_class": forms.CharField}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)

    def _label(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model is not None else "a stored secret"


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[EncryptedCharField]]]:
    """Every concrete model with encrypted fields, and those fields."""
    from django.apps import apps

    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]
        if fields:
            yield model, fields


@register(Tags.security)
def check_secret_keys(app_configs=None, **kwargs):
    """lib.E001: a key in HELPDESK_SECRET_KEYS is malformed (nothing could be decrypted)."""
    try:
        _current()
    except SecretKeyError as error:
        return [Error(str(error), id="lib.E001")]
    return []


@register(Tags.security, deploy=True)
def check_secret_keys_set(app_configs=None, **kwargs):
    """lib.W001 (check --deploy): production derives its encryption key from SECRET_KEY."""
    if configured_keys():
        return []
    return [
        Warning(
            f"{SETTING} is not set: stored secrets are encrypted with a key derived from "
            "DJANGO_SECRET_KEY, so changing that key makes them unreadable.",
            hint=f"Set {SETTING} to a key of its own (Fernet.generate_key()); see README.",
            id="lib.W001",
        )
    ]
