# The owner connection: migrations (our `migrate` defaults to it) and the explicit
# cross-tenant reads of `all_tenants()`. Requests and tasks use `default`.
OWNER_DB = "owner"
