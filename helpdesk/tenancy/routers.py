OWNER_DB = "owner"


class OwnerMigratesRouter:
    """Schema changes belong to the owning role; the runtime role only reads and writes rows."""

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == OWNER_DB
