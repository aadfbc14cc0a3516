#!/usr/bin/env bash
# Checks a running sqlbridge from outside, as a monitor (Nagios, cron, an uptime probe) would:
#   - GET /healthz answers 200 (the process serves);
#   - GET /readyz answers 200 (every environment's database, the OAuth storage and the audit trail answer);
#   - for each environment: the protected resource metadata (RFC 9728) at
#     /.well-known/oauth-protected-resource/<env>/mcp and the authorization server metadata (RFC 8414) at
#     /.well-known/oauth-authorization-server/<env> answer 200 with their resource / issuer;
#   - for an https URL: the certificate the server presents is valid for more than --days days.
#
# Usage: health-check.sh URL [--days N] [--env NAME]... [--ca FILE] [--insecure] [--timeout SECONDS]
#   URL          the server's base URL, e.g. https://data.example.com or http://127.0.0.1:8008
#   --days N     fail when the TLS certificate expires within N days (default 14)
#   --env NAME   check this environment's discovery documents (repeatable); by default, every environment
#                /readyz reports, when OAuth is on
#   --ca FILE    trust this CA certificate (PEM) as well, e.g. a self-signed one
#   --insecure   do not verify the certificate chain (the expiry is still checked)
#   --timeout S  seconds each request may take (default 10)
#
# Prints one line per check (OK or FAIL) and a summary line.
# Exit codes: 0 every check passed; 1 a check failed (server down, not ready, a document missing, the
# certificate expiring within --days or not trusted); 2 usage (a missing or invalid argument).
# Needs curl, and openssl for https URLs.
set -euo pipefail

usage() {
  sed -n '10,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die_usage() {
  echo "health-check.sh: $1" >&2
  usage
}

url=''
days=14
timeout=10
ca=''
insecure=0
environments=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --days) [[ $# -ge 2 ]] || die_usage '--days needs a number'; days="$2"; shift 2 ;;
    --env) [[ $# -ge 2 ]] || die_usage '--env needs a name'; environments+=("$2"); shift 2 ;;
    --ca) [[ $# -ge 2 ]] || die_usage '--ca needs a file'; ca="$2"; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || die_usage '--timeout needs a number'; timeout="$2"; shift 2 ;;
    --insecure) insecure=1; shift ;;
    -h | --help) usage ;;
    -*) die_usage "unknown option $1" ;;
    *) [[ -z "$url" ]] || die_usage "unexpected argument $1"; url="$1"; shift ;;
  esac
done

[[ -n "$url" ]] || die_usage 'the server URL is required'
[[ "$url" =~ ^(https?)://([^/:]+|\[[0-9a-fA-F:]+\])(:([0-9]+))?/?$ ]] ||
  die_usage "URL must be http(s)://host[:port] without a path, not $url"
scheme="${BASH_REMATCH[1]}"
host="${BASH_REMATCH[2]}"
port="${BASH_REMATCH[4]:-}"
[[ -n "$port" ]] || { [[ "$scheme" == https ]] && port=443 || port=80; }
url="${url%/}"
[[ "$days" =~ ^[0-9]+$ ]] || die_usage "--days must be a whole number of days, not $days"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout must be a whole number of seconds, not $timeout"
[[ -z "$ca" || -r "$ca" ]] || die_usage "--ca $ca cannot be read"
for name in "${environments[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || die_usage "--env $name is not an environment name"
done
command -v curl >/dev/null || { echo 'health-check.sh: curl is required' >&2; exit 2; }

curl_options=(--silent --show-error --max-time "$timeout" --output - --write-out '\n%{http_code}')
[[ -n "$ca" ]] && curl_options+=(--cacert "$ca")
[[ "$insecure" == 1 ]] && curl_options+=(--insecure)

failures=0
ok() { echo "OK    $1"; }
fail() {
  echo "FAIL  $1"
  failures=$((failures + 1))
}

# GET $url$1: sets body and status (000 when no answer came).
get() {
  local answer
  if answer="$(curl "${curl_options[@]}" "$url$1" 2>&1)"; then
    status="${answer##*$'\n'}"
    body="${answer%$'\n'*}"
  else
    status=000
    body="$(printf '%s' "$answer" | head -n 1)"
  fi
}

get /healthz
if [[ "$status" == 200 ]]; then ok "healthz: 200"; else fail "healthz: ${status} ${body:0:200}"; fi

get /readyz
readiness="$body"
if [[ "$status" == 200 ]]; then
  ok "readyz: 200"
else
  fail "readyz: ${status} ${body:0:300}"
fi

# Without --env: the environments /readyz names, when its report says OAuth is on (it has an "auth" part).
if [[ ${#environments[@]} -eq 0 && "$readiness" == *'"auth":'* ]]; then
  while IFS= read -r name; do
    [[ -n "$name" ]] && environments+=("$name")
  done < <(printf '%s' "$readiness" | grep -o '"[A-Za-z0-9_-]*":{"database"' | cut -d'"' -f2)
fi
for name in "${environments[@]}"; do
  get "/.well-known/oauth-protected-resource/${name}/mcp"
  if [[ "$status" == 200 && "$body" == *'"resource":'* ]]; then
    ok "${name}: protected resource metadata"
  else
    fail "${name}: protected resource metadata: ${status} ${body:0:200}"
  fi
  get "/.well-known/oauth-authorization-server/${name}"
  if [[ "$status" == 200 && "$body" == *'"issuer":'* ]]; then
    ok "${name}: authorization server metadata"
  else
    fail "${name}: authorization server metadata: ${status} ${body:0:200}"
  fi
done

if [[ "$scheme" == https ]]; then
  command -v openssl >/dev/null || { echo 'health-check.sh: openssl is required for https URLs' >&2; exit 2; }
  connect_host="${host#[}"
  connect_host="${connect_host%]}"
  verify_options=()
  [[ -n "$ca" ]] && verify_options+=(-CAfile "$ca")
  [[ "$insecure" == 1 ]] || verify_options+=(-verify_return_error)
  if certificate="$(timeout "$timeout" openssl s_client -connect "${host}:${port}" -servername "$connect_host" \
    "${verify_options[@]}" </dev/null 2>/dev/null | openssl x509 2>/dev/null)" && [[ -n "$certificate" ]]; then
    not_after="$(printf '%s\n' "$certificate" | openssl x509 -noout -enddate | cut -d= -f2)"
    # openssl x509 -checkend: exit 0 if the certificate is still valid N seconds from now.
    if printf '%s\n' "$certificate" | openssl x509 -noout -checkend $((days * 86400)) >/dev/null; then
      ok "certificate: valid until ${not_after} (more than ${days} days)"
    else
      fail "certificate: expires ${not_after}, within ${days} days"
    fi
  else
    fail "certificate: no trusted certificate from ${host}:${port}"
  fi
fi

if [[ "$failures" -eq 0 ]]; then
  echo "sqlbridge OK: ${url}"
  exit 0
fi
echo "sqlbridge CRITICAL: ${failures} check(s) failed at ${url}"
exit 1
