"""System checks that keep the tenancy walls standing.

- tenancy.E001: a many-to-many between tenant models without a TenantModel `through` (an
  auto-created join table has no tenant_id, so no row-level security).
- tenancy.W010 / E010: the runtime database role could bypass row-level security (superuser,
  BYPASSRLS, or owner of the tables). A warning in development, an error in production.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections


@register(Tags.models)
def check_m2m_through(app_configs=None, **kwargs):
    from .models import TenantModel

    errors = []
    for model in apps.get_models():
        if not issubclass(model, TenantModel):
            continue
        for field in model._meta.local_many_to_many:
            if field.remote_field.through._meta.auto_created:
                errors.append(
                    Error(
                        f"{model.__name__}.{field.name} needs an explicit through model that "
                        "inherits TenantModel.",
                        hint="Auto-created join tables carry no tenant_id and escape RLS.",
                        obj=field,
                        id="tenancy.E001",
                    )
                )
    return errors


def runtime_role_problems(alias: str = "default") -> list[str]:
    """Why the role behind `alias` could read past row-level security (empty: it cannot)."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, current_user FROM pg_roles WHERE rolname = current_user"
        )
        superuser, bypass, role = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s",
            [role],
        )
        owned = cursor.fetchone()[0]
    problems = []
    if superuser:
        problems.append(f"role {role} is a superuser")
    if bypass:
        problems.append(f"role {role} has BYPASSRLS")
    if owned:
        problems.append(f"role {role} owns {owned} tables")
    return problems


@register(Tags.database, deploy=True)
def check_runtime_role(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []
    try:
        problems = runtime_role_problems()
    except Exception as error:  # noqa: BLE001
        return [Warning(f"Could not inspect the database role: {error}", id="tenancy.W011")]
    if not problems:
        return []
    message = (
        "The web/worker database role can bypass row-level security: "
        + "; ".join(problems)
        + ". Connect DATABASE_URL as a plain role that owns nothing (see README)."
    )
    if settings.DEBUG:
        return [Warning(message, id="tenancy.W010")]
    return [Error(message, id="tenancy.E010")]


def enforce_runtime_role(process: str) -> None:
    """Called when a web or worker process starts: production refuses to run with a role that
    could bypass row-level security; development says so loudly and goes on."""
    import logging

    from django.core.exceptions import ImproperlyConfigured

    problems = runtime_role_problems()
    if not problems:
        return
    message = f"{process}: database role can bypass row-level security: " + "; ".join(problems)
    if settings.DEBUG or settings.TESTING:
        logging.getLogger("helpdesk.tenancy").warning(message)
        return
    raise ImproperlyConfigured(message)
