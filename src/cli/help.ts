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
  admin ACTION    List and manage clients, grants, users and keys (see "Admin actions" below)
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

Admin actions (sqlbridge admin ACTION; --json prints JSON instead of a table):
  clients         Registered and configured OAuth clients [--env NAME] [--search TEXT]
  grants          Grants users gave clients [--env NAME] [--user NAME] [--client ID]
  users           Users, their groups, state and grants [--search TEXT]
  revoke-grant    Revoke a grant and its tokens: --grant ID [--env NAME]
  delete-client   Delete a registered client and revoke its grants: --client ID [--env NAME]
  disable-user    Refuse a user's sign-ins and tokens: --user NAME
  enable-user     Let a disabled user in again: --user NAME
  rotate-keys     A new signing key, used at once by the servers sharing Redis [--env NAME]
  audit           The audit trail, newest first [--env] [--user] [--client] [--event]
                  [--outcome] [--since] [--limit N] (default 200)
  Exit codes: 0 done, 1 the grant, client or user does not exist, 2 invalid usage.

Backup and restore options:
      --out DIR         backup: the new or empty directory to write the backup to
      --include-demo    backup: also copy the demo database (made again when missing)
      --from DIR        restore: the directory of a backup written by "sqlbridge backup"
      --force           restore: replace the files of a data directory that is not empty

The server options can also be set in the configuration file or by environment variable;
see docs/configuration.md. Exit codes: 0 success, 1 failure, 2 invalid configuration or usage.
`;
