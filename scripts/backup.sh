#!/usr/bin/env bash
# Backs up sqlbridge's data directory (OAuth store, signing keys, audit trail) into a timestamped
# archive, safely while the server runs: `sqlbridge backup` copies each SQLite database with SQLite's
# online backup, never as a plain file copy. Keeps the newest --keep archives and deletes older ones.
#
# Usage: backup.sh [--dest DIR] [--keep N] [--include-demo] [--config FILE] [--data-dir DIR]
#   --dest DIR       where archives are kept, outside the data directory (default $SQLBRIDGE_BACKUP_DIR,
#                    else /var/backups/sqlbridge)
#   --keep N         archives kept, the newest; older ones are deleted (default 14; 0 keeps all)
#   --include-demo   also back up the demo database (large, and made again when missing)
#   --config FILE    sqlbridge's configuration file (else SQLBRIDGE_CONFIG, as sqlbridge reads it)
#   --data-dir DIR   sqlbridge's data directory (else the configuration's dataDir)
#
# The archive, sqlbridge-<UTC time>.tar.gz, holds the signing keys and the store key: it is written
# readable by its owner only (0600, in a 0700 directory). Restore it with scripts/restore.sh.
# With auth.storage in Redis, the OAuth state and keys are in Redis: back Redis up as well.
# Environment: SQLBRIDGE, the command that runs sqlbridge (default `sqlbridge`, e.g. `node dist/main.js`).
# Logs are JSON lines on stderr. Exit codes: 0 archive written; 1 the backup failed; 2 usage.
set -euo pipefail
umask 077

log() {
  local level="$1" message="$2"
  message="${message//\\/\\\\}"
  message="${message//\"/\\\"}"
  printf '{"level":"%s","time":"%s","service":"sqlbridge-backup","msg":"%s"}\n' \
    "$level" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$message" >&2
}

usage() {
  sed -n '6,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die_usage() {
  log error "$1"
  usage
}

dest="${SQLBRIDGE_BACKUP_DIR:-/var/backups/sqlbridge}"
keep=14
sqlbridge_options=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dest) [[ $# -ge 2 ]] || die_usage '--dest needs a directory'; dest="$2"; shift 2 ;;
    --keep) [[ $# -ge 2 ]] || die_usage '--keep needs a number'; keep="$2"; shift 2 ;;
    --include-demo) sqlbridge_options+=(--include-demo); shift ;;
    --config | --data-dir)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value"
      sqlbridge_options+=("$1" "$2")
      shift 2
      ;;
    -h | --help) usage ;;
    *) die_usage "unknown argument $1" ;;
  esac
done
[[ "$keep" =~ ^[0-9]+$ ]] || die_usage "--keep must be a whole number, not $keep"
[[ -n "$dest" ]] || die_usage '--dest must not be empty'

read -r -a sqlbridge <<<"${SQLBRIDGE:-sqlbridge}"

mkdir -p "$dest"
chmod 700 "$dest"
staging="$(mktemp -d "${dest}/.backup.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
archive="${dest}/sqlbridge-${stamp}.tar.gz"
[[ ! -e "$archive" ]] || archive="${dest}/sqlbridge-${stamp}-$$.tar.gz"

set +e
"${sqlbridge[@]}" backup --out "${staging}/backup" "${sqlbridge_options[@]}" >/dev/null
code=$?
set -e
if [[ "$code" -ne 0 ]]; then
  log error 'sqlbridge backup failed; no archive was written'
  # sqlbridge's usage errors (2) stay usage errors; anything else is a failed backup.
  [[ "$code" -eq 2 ]] && exit 2
  exit 1
fi
tar -C "$staging" -czf "${staging}/archive.tar.gz" backup
chmod 600 "${staging}/archive.tar.gz"
# Renamed into place only when complete: an archive in --dest is never half written.
mv "${staging}/archive.tar.gz" "$archive"
log info "backup archive written: ${archive}"

if [[ "$keep" -gt 0 ]]; then
  # Names sort by time (UTC stamps); everything but the newest $keep goes.
  mapfile -t archives < <(find "$dest" -maxdepth 1 -type f -name 'sqlbridge-*.tar.gz' | sort)
  excess=$((${#archives[@]} - keep))
  for ((i = 0; i < excess; i++)); do
    rm -f -- "${archives[i]}"
    log info "old backup archive deleted: ${archives[i]}"
  done
fi
echo "$archive"
