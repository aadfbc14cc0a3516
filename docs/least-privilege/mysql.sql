-- sqlbridge: a MySQL or MariaDB login that can only read.
--
-- Replace sqlbridge_reader (the user), '%' (the hosts it may connect from; narrow it to sqlbridge's
-- address), analytics (the database; repeat the GRANT for each database analysts may read) and the
-- password, then run as a user with CREATE USER and GRANT OPTION:  mysql < mysql.sql
--
-- `sqlbridge check` then reports "can only read" for the environment using this login, and
-- `requireLeastPrivilege: true` keeps sqlbridge from starting with anything more.

CREATE USER 'sqlbridge_reader'@'%' IDENTIFIED BY 'change-me' WITH MAX_USER_CONNECTIONS 20;

-- SELECT and SHOW VIEW only: no INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, EXECUTE, LOCK TABLES,
-- CREATE TEMPORARY TABLES, FILE (which reads and writes server files), PROCESS or SUPER.
GRANT SELECT, SHOW VIEW ON analytics.* TO 'sqlbridge_reader'@'%';
