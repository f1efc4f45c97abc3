"""The one way to write a task that touches tenant data.

    @tenant_task()
    def ticket_route(*, ticket_id: int) -> None: ...

    ticket_route.delay(tenant.pk, ticket_id=ticket.pk)

The first positional argument is always the tenant id; the body runs inside that tenant's
context (scoped managers + row-level security), so a task cannot forget which tenant it is in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from celery import shared_task
from django.db import transaction

from .context import require_current_tenant, tenant_context
from .models import Tenant


def tenant_task(**options: Any) -> Callable:
    options.setdefault("acks_late", True)

    bound = options.get("bind", False)

    def decorator(fn: Callable[..., Any]):
        def call(tenant_id: int, args: tuple, kwargs: dict) -> Any:
            tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
            if tenant is None:
                return None  # tenant deleted or suspended since enqueueing: nothing to do
            with tenant_context(tenant):
                return fn(*args, **kwargs)

        if bound:  # Celery passes the task itself first (for self.retry)

            @wraps(fn)
            def run(task, tenant_id: int, *args: Any, **kwargs: Any) -> Any:
                return call(tenant_id, (task, *args), kwargs)

        else:

            @wraps(fn)
            def run(tenant_id: int, *args: Any, **kwargs: Any) -> Any:
                return call(tenant_id, args, kwargs)

        return shared_task(**options)(run)

    return decorator


def enqueue_on_commit(task, **kwargs: Any) -> None:
    """Send a task for the current tenant once the transaction commits (never for rolled-back
    work). Keyword arguments only, ids only."""
    tenant_id = require_current_tenant().pk
    transaction.on_commit(lambda: task.delay(tenant_id, **kwargs))
