#!/usr/bin/env bash
# Obtains a Let's Encrypt certificate for sqlbridge's nginx with certbot's webroot method, and sets up
# its renewal. nginx answers the HTTP-01 challenge from the webroot on port 80 (deploy/nginx serves
# /.well-known/acme-challenge/ from /var/www/certbot), so nginx keeps running throughout.
#
# Usage: setup-letsencrypt.sh --domain NAME --email ADDRESS [options]
#   --domain NAME          the server's name (repeatable; the first names the certificate)
#   --email ADDRESS        where Let's Encrypt sends expiry and account notices
#   --webroot DIR          the directory nginx serves challenges from (default /var/www/certbot)
#   --staging              use Let's Encrypt's staging service (untrusted certificates, generous limits)
#   --key-type TYPE        ecdsa (default) or rsa (4096 bits)
#   --reload-command CMD   run after each new certificate (default "nginx -s reload"; with compose,
#                          e.g. "docker compose exec nginx nginx -s reload")
#   --renewal KIND         cron (default: /etc/cron.d/sqlbridge-certbot), systemd (a service and timer in
#                          /etc/systemd/system), or none (renewal runs elsewhere, e.g. the compose
#                          certbot service's renew loop)
#   --certbot CMD          the certbot command (default certbot)
#   --no-probe             skip checking that http://NAME/.well-known/acme-challenge/ reaches the webroot
#   --print                print the commands and files instead of running and writing them
#
# The certificate lands in /etc/letsencrypt/live/<first name>/ (fullchain.pem, privkey.pem), where the
# site rendered from deploy/nginx expects it. certbot keeps the webroot and reload command with the
# certificate, so `certbot renew` needs no options. Exit codes: 0 done; 1 a step failed; 2 usage.
set -euo pipefail

usage() {
  sed -n '6,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die_usage() {
  echo "setup-letsencrypt.sh: $1" >&2
  usage
}

fail() {
  echo "setup-letsencrypt.sh: $1" >&2
  exit 1
}

domains=()
email=''
webroot=/var/www/certbot
staging=0
key_type=ecdsa
reload_command='nginx -s reload'
renewal=cron
certbot=certbot
probe=1
print=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --domain | --email | --webroot | --key-type | --reload-command | --renewal | --certbot)
      [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die_usage "$1 needs a value"
      case "$1" in
        --domain) domains+=("$2") ;;
        --email) email="$2" ;;
        --webroot) webroot="$2" ;;
        --key-type) key_type="$2" ;;
        --reload-command) reload_command="$2" ;;
        --renewal) renewal="$2" ;;
        --certbot) certbot="$2" ;;
      esac
      shift 2
      ;;
    --staging) staging=1; shift ;;
    --no-probe) probe=0; shift ;;
    --print) print=1; shift ;;
    -h | --help) usage ;;
    *) die_usage "unknown argument $1" ;;
  esac
done

# Names as Let's Encrypt issues them over HTTP-01: letters, digits and hyphens in dot-separated labels,
# at least two labels, no wildcard (a wildcard needs the DNS-01 challenge) and no IP address.
label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
[[ ${#domains[@]} -gt 0 ]] || die_usage '--domain is required'
for domain in "${domains[@]}"; do
  [[ "$domain" =~ ^(${label}\.)+[A-Za-z]{2,63}$ && ${#domain} -le 253 ]] ||
    die_usage "--domain ${domain} is not a public host name (no wildcard, no IP address, no scheme or port)"
done
[[ -n "$email" ]] || die_usage '--email is required (Let'"'"'s Encrypt sends expiry notices there)'
[[ "$email" =~ ^[^@[:space:]]+@(${label}\.)+[A-Za-z]{2,63}$ ]] || die_usage "--email ${email} is not an e-mail address"
[[ "$webroot" == /* ]] || die_usage "--webroot must be an absolute path, not ${webroot}"
case "$key_type" in
  ecdsa) key_options=(--key-type ecdsa --elliptic-curve secp256r1) ;;
  rsa) key_options=(--key-type rsa --rsa-key-size 4096) ;;
  *) die_usage "--key-type must be ecdsa or rsa, not ${key_type}" ;;
esac
case "$renewal" in
  cron | systemd | none) ;;
  *) die_usage "--renewal must be cron, systemd or none, not ${renewal}" ;;
esac
read -r -a certbot_command <<<"$certbot"

# Runs a command, or prints it (shell-quoted) with --print.
run() {
  if [[ "$print" == 1 ]]; then
    printf '%q ' "$@" | sed 's/ $//'
    echo
  else
    "$@"
  fi
}

# Writes stdin to a file (mode 0644), or prints where and what with --print.
write_file() {
  if [[ "$print" == 1 ]]; then
    echo "# write $1:"
    cat
  else
    cat >"$1"
    chmod 644 "$1"
  fi
}

if [[ "$print" == 0 ]]; then
  command -v "${certbot_command[0]}" >/dev/null || fail "${certbot_command[0]} is not installed (Debian: apt-get install certbot)"
fi

run mkdir -p "${webroot}/.well-known/acme-challenge"

# Let's Encrypt fetches http://<name>/.well-known/acme-challenge/<token> from the internet: a file put in
# the webroot must come back the same through nginx, for every name, or issuance fails (and failures count
# against Let's Encrypt's rate limits).
if [[ "$probe" == 1 && "$print" == 0 ]]; then
  token="sqlbridge-probe-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s' "$token" >"${webroot}/.well-known/acme-challenge/${token}"
  trap 'rm -f "${webroot}/.well-known/acme-challenge/${token}"' EXIT
  for domain in "${domains[@]}"; do
    answer="$(curl --silent --max-time 10 "http://${domain}/.well-known/acme-challenge/${token}" || true)"
    [[ "$answer" == "$token" ]] ||
      fail "http://${domain}/.well-known/acme-challenge/ does not serve ${webroot}: check DNS, port 80 and nginx's ACME location (or --no-probe)"
  done
fi

certbot_options=(certonly --webroot -w "$webroot")
for domain in "${domains[@]}"; do certbot_options+=(-d "$domain"); done
certbot_options+=(--cert-name "${domains[0]}" --email "$email" --agree-tos --no-eff-email --non-interactive)
certbot_options+=(--keep-until-expiring "${key_options[@]}" --deploy-hook "$reload_command")
[[ "$staging" == 1 ]] && certbot_options+=(--test-cert)
run "${certbot_command[@]}" "${certbot_options[@]}" || fail 'certbot could not obtain the certificate (its log: /var/log/letsencrypt/letsencrypt.log)'

# certbot renews a certificate within 30 days of its expiry; checking twice a day, at a minute other than
# :00, is what Let's Encrypt asks of clients.
renew_command="${certbot} renew --quiet"
case "$renewal" in
  cron)
    write_file /etc/cron.d/sqlbridge-certbot <<EOF
# Renews sqlbridge's Let's Encrypt certificate (setup-letsencrypt.sh); the reload command is kept by certbot.
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
17 3,15 * * * root ${renew_command}
EOF
    ;;
  systemd)
    write_file /etc/systemd/system/sqlbridge-certbot.service <<EOF
[Unit]
Description=Renew sqlbridge's Let's Encrypt certificate

[Service]
Type=oneshot
ExecStart=${renew_command}
EOF
    write_file /etc/systemd/system/sqlbridge-certbot.timer <<EOF
[Unit]
Description=Renew sqlbridge's Let's Encrypt certificate twice a day

[Timer]
OnCalendar=*-*-* 03,15:17:00
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
EOF
    run systemctl daemon-reload
    run systemctl enable --now sqlbridge-certbot.timer
    ;;
  none)
    echo "Renewal is left to you: run \"${renew_command}\" twice a day (the compose certbot service does)." >&2
    ;;
esac

if [[ "$print" == 0 ]]; then
  echo "Certificate: /etc/letsencrypt/live/${domains[0]}/fullchain.pem and privkey.pem"
fi
