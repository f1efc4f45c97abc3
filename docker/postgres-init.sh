#!/usr/bin/env bash
# Runs once, on an empty data volume, from /docker-entrypoint-initdb.d as the
# image's superuser (POSTGRES_USER). Creates the two roles of the contract:
#   helpdesk      owner: owns the database and tables, runs migrations,
#                 creates the test database (LOGIN CREATEDB, not superuser)
#   helpdesk_app  runtime: web and workers, owns nothing, cannot bypass RLS
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_pw="${HELPDESK_DB_OWNER_PASSWORD:-helpdesk}" \
    -v app_pw="${HELPDESK_DB_APP_PASSWORD:-helpdesk_app}" <<'SQL'
CREATE ROLE helpdesk LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE helpdesk_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_pw';
CREATE DATABASE helpdesk OWNER helpdesk ENCODING 'UTF8' TEMPLATE template1;
GRANT CONNECT, TEMPORARY ON DATABASE helpdesk TO helpdesk_app;
SQL

# Extensions and default grants in the database and in template1 (so a test
# database created by the owner gets them too).
for db in helpdesk template1; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$db" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO helpdesk_app;
ALTER DEFAULT PRIVILEGES FOR ROLE helpdesk IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO helpdesk_app;
ALTER DEFAULT PRIVILEGES FOR ROLE helpdesk IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO helpdesk_app;
SQL
done
