export const HELP = `sqlbridge — connect SQL databases to AI assistants over MCP, safely.

Usage: sqlbridge [command] [options]

Commands:
  serve           Serve the configured environments over HTTP (the default)
  demo            Serve the embedded demo database over HTTP (same as serve --demo)
  stdio           Serve one environment over stdin/stdout, for Claude Desktop and other local clients
  check           Validate the configuration and connect to every environment's database
  hash-password   Read a password on stdin and print its hash, for auth.users in the configuration
  rotate-keys     Give each environment's authorization server a new token signing key (next start)
  audit           Show the audit trail (the JSON Lines files in the data directory), filtered
  backup          Copy the data directory (OAuth store, keys, audit trail) while the server runs
  restore         Put a backup back into the data directory, after checking every file of it
  help            Show this help

Options:
  -c, --config FILE     YAML configuration file (or SQLBRIDGE_CONFIG)
      --host ADDRESS    Address to bind (default 127.0.0.1)
  -p, --port PORT       Port to listen on (default 8008)
      --data-dir DIR    Directory for the demo database and other state (default ./data)
      --log-level LEVEL fatal, error, warn, info, debug, trace or silent (default info)
  -e, --env NAME        The environment stdio serves (needed when several are configured);
                        for audit, only records of this environment
      --demo            Serve the embedded demo database instead of the configured environments
      --no-auth         Serve HTTP without OAuth (only on a loopback address)
  -h, --help            Show this help
  -v, --version         Print the version

Audit options (sqlbridge audit):
      --user NAME       Records of this user (any case)
      --client ID       Records of this OAuth client
      --since TIME      At or after TIME: an ISO date or time (UTC unless it has an offset),
                        or a span ago: 30s, 15m, 2h, 7d, 2w
      --until TIME      At or before TIME (same forms)
      --outcome NAME    ok, rejected, failed or cancelled
      --event NAME      An event (query.executed) or a group (query., auth., token., ...)
      --search TEXT     Text in the statement, tool, user, client or error class (any case)
      --limit N         Only the last N matching records
      --json            The records as stored (JSON Lines) instead of a table
  -f, --follow          Keep printing new records as they are written, until interrupted

Backup and restore options:
      --out DIR         backup: the new or empty directory to write the backup to
      --include-demo    backup: also copy the demo database (made again when missing)
      --from DIR        restore: the directory of a backup written by "sqlbridge backup"
      --force           restore: replace the files of a data directory that is not empty

The server options can also be set in the configuration file or by environment variable;
see docs/configuration.md. Exit codes: 0 success, 1 failure, 2 invalid configuration or usage.
`;
