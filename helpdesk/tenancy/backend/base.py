"""PostgreSQL backend for the runtime role: keeps `app.tenant_id` equal to the current tenant.

Before any cursor is handed out, the session setting is compared with the tenant context and
re-set when they differ (a tenant change, a new request on a reused connection, no tenant at all:
the empty string, which matches no row). A rollback can undo a `set_config` made inside the
rolled-back transaction or savepoint, so after any rollback the next query sets it again.
The row-level security policies read this setting; see helpdesk/tenancy/rls.py.
"""

from __future__ import annotations

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

from ..context import current_tenant_id

_UNKNOWN = object()


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_applied: object = _UNKNOWN

    def _cursor(self, name=None):
        cursor = super()._cursor(name)
        self._apply_tenant()
        return cursor

    def _apply_tenant(self) -> None:
        tenant_id = current_tenant_id()
        wanted = "" if tenant_id is None else str(tenant_id)
        if self._tenant_applied == wanted:
            return
        if self.connection.info.transaction_status == TransactionStatus.INERROR:
            return  # only a rollback can run now; the setting is re-applied after it
        with self.connection.cursor() as raw:
            raw.execute("SELECT set_config('app.tenant_id', %s, false)", [wanted])
        self._tenant_applied = wanted

    def connect(self) -> None:
        self._tenant_applied = _UNKNOWN
        super().connect()

    def _close(self) -> None:
        self._tenant_applied = _UNKNOWN
        super()._close()

    def _rollback(self) -> None:
        super()._rollback()
        self._tenant_applied = _UNKNOWN

    def _savepoint_rollback(self, sid) -> None:
        super()._savepoint_rollback(sid)
        self._tenant_applied = _UNKNOWN
