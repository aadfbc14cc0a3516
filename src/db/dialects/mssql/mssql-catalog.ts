/**
 * SQL Server catalog queries, over the sys catalog views (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/catalog-views-transact-sql).
 * Objects are always found by schema and name together: `dbo.Customers` and `sales.Customers` are
 * different tables. Keys come from sys.indexes and sys.index_columns, whatever the constraint is
 * called. Parameters are @p1, @p2 … in order.
 */

export const SERVER_INFO = `SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
       CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       DB_NAME() AS database_name,
       SCHEMA_NAME() AS default_schema`;

export const LIST_TABLES = `SELECT s.name AS schema_name,
       o.name AS object_name,
       CASE WHEN o.type = 'V' THEN 'view' ELSE 'table' END AS object_type,
       (SELECT SUM(p.rows) FROM sys.partitions AS p WHERE p.object_id = o.object_id AND p.index_id IN (0, 1)) AS row_estimate
  FROM sys.objects AS o
  JOIN sys.schemas AS s ON s.schema_id = o.schema_id
 WHERE o.type IN ('U', 'V') AND o.is_ms_shipped = 0
 ORDER BY s.name, o.name`;

export const OBJECT_ID = `SELECT o.object_id AS object_id
  FROM sys.objects AS o
  JOIN sys.schemas AS s ON s.schema_id = o.schema_id
 WHERE s.name = @p1 AND o.name = @p2 AND o.type IN ('U', 'V')`;

export const COLUMNS = `SELECT c.name AS column_name,
       t.name AS type_name,
       c.max_length AS max_length,
       c.precision AS numeric_precision,
       c.scale AS numeric_scale,
       c.is_nullable AS is_nullable,
       OBJECT_DEFINITION(c.default_object_id) AS default_definition
  FROM sys.columns AS c
  JOIN sys.types AS t ON t.user_type_id = c.user_type_id
 WHERE c.object_id = @p1
 ORDER BY c.column_id`;

/**
 * The primary key through sys.indexes.is_primary_key, which every engine implementing the catalog
 * fills in (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-indexes-transact-sql),
 * Babelfish included. Its name is the constraint's where sys.key_constraints links it to the index,
 * else the index's (on SQL Server the two are the same).
 */
export const PRIMARY_KEY = `SELECT COALESCE(kc.name, i.name) AS constraint_name, c.name AS column_name
  FROM sys.indexes AS i
  JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
  JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
  LEFT JOIN sys.key_constraints AS kc
    ON kc.parent_object_id = i.object_id AND kc.unique_index_id = i.index_id AND kc.type = 'PK'
 WHERE i.object_id = @p1 AND i.is_primary_key = 1 AND ic.is_included_column = 0
 ORDER BY ic.key_ordinal`;

export const FOREIGN_KEYS = `SELECT fk.name AS constraint_name,
       pc.name AS column_name,
       rs.name AS referenced_schema,
       ro.name AS referenced_table,
       rc.name AS referenced_column,
       fk.update_referential_action_desc AS on_update,
       fk.delete_referential_action_desc AS on_delete
  FROM sys.foreign_keys AS fk
  JOIN sys.foreign_key_columns AS fkc ON fkc.constraint_object_id = fk.object_id
  JOIN sys.columns AS pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id
  JOIN sys.objects AS ro ON ro.object_id = fkc.referenced_object_id
  JOIN sys.schemas AS rs ON rs.schema_id = ro.schema_id
  JOIN sys.columns AS rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id
 WHERE fk.parent_object_id = @p1
 ORDER BY fk.name, fkc.constraint_column_id`;

export const INDEXES = `SELECT i.name AS index_name, i.is_unique AS is_unique, i.is_primary_key AS is_primary, c.name AS column_name
  FROM sys.indexes AS i
  JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
  JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
 WHERE i.object_id = @p1 AND i.type > 0 AND i.is_hypothetical = 0 AND ic.is_included_column = 0
 ORDER BY i.name, ic.key_ordinal`;

/** Every catalog query, for the T-SQL parse test. */
export const CATALOG_QUERIES = { SERVER_INFO, LIST_TABLES, OBJECT_ID, COLUMNS, PRIMARY_KEY, FOREIGN_KEYS, INDEXES };
