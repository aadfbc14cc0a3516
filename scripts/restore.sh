#!/usr/bin/env bash
# Restores an archive written by scripts/backup.sh into sqlbridge's data directory. Stop sqlbridge
# first. `sqlbridge restore` checks the whole backup (manifest, every file's SHA-256, SQLite's
# integrity check) before it writes anything, and refuses a data directory that is not empty
# unless --force.
#
# Usage: restore.sh ARCHIVE [--force] [--config FILE] [--data-dir DIR]
#   ARCHIVE          a sqlbridge-<UTC time>.tar.gz written by backup.sh
#   --force          replace the files of a data directory that is not empty
#   --config FILE    sqlbridge's configuration file (else SQLBRIDGE_CONFIG, as sqlbridge reads it)
#   --data-dir DIR   the data directory to restore into (else the configuration's dataDir)
#
# Environment: SQLBRIDGE, the command that runs sqlbridge (default `sqlbridge`, e.g. `node dist/main.js`).
# Logs are JSON lines on stderr. Exit codes: 0 restored; 1 the archive is damaged or a file could not
# be written (nothing is written when the archive fails its checks); 2 usage, or a data directory
# that is not empty without --force.
set -euo pipefail
umask 077

log() {
  local level="$1" message="$2"
  message="${message//\\/\\\\}"
  message="${message//\"/\\\"}"
  printf '{"level":"%s","time":"%s","service":"sqlbridge-restore","msg":"%s"}\n' \
    "$level" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$message" >&2
}

usage() {
  sed -n '7,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die_usage() {
  log error "$1"
  usage
}

archive=''
sqlbridge_options=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) sqlbridge_options+=(--force); shift ;;
    --config | --data-dir)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value"
      sqlbridge_options+=("$1" "$2")
      shift 2
      ;;
    -h | --help) usage ;;
    -*) die_usage "unknown option $1" ;;
    *) [[ -z "$archive" ]] || die_usage "unexpected argument $1"; archive="$1"; shift ;;
  esac
done
[[ -n "$archive" ]] || die_usage 'the archive to restore is required'
[[ -f "$archive" && -r "$archive" ]] || die_usage "${archive} is not a readable file"

read -r -a sqlbridge <<<"${SQLBRIDGE:-sqlbridge}"

# The archive's members, checked before anything is extracted: regular files and directories only,
# all under backup/, none reaching out of it.
if ! listing="$(tar -tvzf "$archive" 2>/dev/null)" || ! names="$(tar -tzf "$archive" 2>/dev/null)"; then
  log error "${archive} is not a readable gzip tar archive"
  exit 1
fi
if grep -qv '^[-d]' <<<"$listing"; then
  log error "${archive} holds links or special files; a backup holds only files and directories"
  exit 1
fi
while IFS= read -r name; do
  if [[ ! "$name" =~ ^backup(/|$) || "$name" =~ (^|/)\.\.(/|$) ]]; then
    log error "${archive} holds a member outside backup/: ${name}"
    exit 1
  fi
done <<<"$names"

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
tar -C "$staging" --no-same-owner --no-same-permissions -xzf "$archive"

set +e
"${sqlbridge[@]}" restore --from "${staging}/backup" "${sqlbridge_options[@]}"
code=$?
set -e
if [[ "$code" -eq 0 ]]; then
  log info "restored from ${archive}"
fi
exit "$code"
