-- sqlbridge: a SQL Server login that can only read.
--
-- Replace analytics (the database), sqlbridge_reader (the login and user) and the password, then run
-- with sqlcmd or SQL Server Management Studio (GO separates batches) as a login that may create
-- logins and users:  sqlcmd -S server -i mssql.sql
-- With Microsoft Entra ID, replace CREATE LOGIN … and FOR LOGIN … with
-- CREATE USER [name@example.com] FROM EXTERNAL PROVIDER, in the database.
-- On Azure SQL Database, which has no USE between databases and no login options, connect to the database
-- itself (sqlcmd -S server -d analytics), skip the two USE batches and CREATE LOGIN, and create a contained
-- user instead: CREATE USER sqlbridge_reader WITH PASSWORD = N'…', DEFAULT_SCHEMA = dbo;
--
-- `sqlbridge check` then reports "can only read" for the environment using this login, and
-- `requireLeastPrivilege: true` keeps sqlbridge from starting with anything more.

USE master;
GO

CREATE LOGIN sqlbridge_reader
  WITH PASSWORD = N'change-me: a long random password', CHECK_POLICY = ON, DEFAULT_DATABASE = analytics;
GO

-- The user must be created in the database it reads, not in master.
USE analytics;
GO

CREATE USER sqlbridge_reader FOR LOGIN sqlbridge_reader WITH DEFAULT_SCHEMA = dbo;

-- Read every table and view of the database. For one schema only, use instead:
--   GRANT SELECT ON SCHEMA::sales TO sqlbridge_reader;
ALTER ROLE db_datareader ADD MEMBER sqlbridge_reader;

-- DENY wins over any GRANT, including one given later through a role. Database-wide, so every
-- schema is covered (not only dbo). CONTROL is not denied: that would deny SELECT as well.
DENY INSERT, UPDATE, DELETE, EXECUTE, ALTER, TAKE OWNERSHIP TO sqlbridge_reader;
DENY CREATE TABLE, CREATE VIEW, CREATE PROCEDURE, CREATE FUNCTION, CREATE SCHEMA, CREATE TYPE, CREATE SYNONYM,
  CREATE DEFAULT, CREATE RULE TO sqlbridge_reader;
DENY BACKUP DATABASE, BACKUP LOG, CHECKPOINT TO sqlbridge_reader;
-- Every caller shares this login: the state views would show each one what the others run.
DENY VIEW DATABASE STATE TO sqlbridge_reader;
-- Scalar functions used in queries need EXECUTE. If analysts need some, drop EXECUTE from the DENY
-- above and GRANT EXECUTE ON each function (or its schema) instead.
GO
