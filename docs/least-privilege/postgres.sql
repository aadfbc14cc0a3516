-- sqlbridge: a PostgreSQL login that can only read.
--
-- Replace sqlbridge_reader (the login), analytics (the database), public (the schema; repeat the
-- schema lines for each schema analysts may read) and the password, then run as a superuser or the
-- database owner, connected to the database:  psql -d analytics -f postgres.sql
--
-- `sqlbridge check` then reports "can only read" for the environment using this login, and
-- `requireLeastPrivilege: true` keeps sqlbridge from starting with anything more.

CREATE ROLE sqlbridge_reader LOGIN PASSWORD 'change-me' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20;

-- Every transaction of this login is read-only unless it asks otherwise; sqlbridge never asks.
ALTER ROLE sqlbridge_reader SET default_transaction_read_only = on;
ALTER ROLE sqlbridge_reader SET statement_timeout = '5min';

GRANT CONNECT ON DATABASE analytics TO sqlbridge_reader;
GRANT USAGE ON SCHEMA public TO sqlbridge_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO sqlbridge_reader;

-- Tables created later by the role running this script are readable too. For tables another role
-- creates, add FOR ROLE that_role after DEFAULT PRIVILEGES.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO sqlbridge_reader;

-- Before PostgreSQL 15 every role may create objects in schema public; no role needs to. This
-- affects all roles: check that your applications create their tables elsewhere or own the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
