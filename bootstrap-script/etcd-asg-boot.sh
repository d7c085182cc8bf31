#!/usr/bin/env bash
# etcd-asg-boot.sh — boots this EC2 instance's etcd member from the configuration the etcd-asg
# control plane published for it. Run from user-data (as root) on Amazon Linux 2023, Ubuntu 22.04+
# or Debian 12. Needs bash 4+, curl 7.75+ (for --aws-sigv4) and coreutils; no jq, no aws CLI.
#
# Usage: etcd-asg-boot.sh [-o flags|env|dropin|start|renew] [-h]
#
#   -o flags   print etcd command-line flags on one line:   etcd $(etcd-asg-boot.sh -o flags)
#   -o env     print ETCD_*="..." lines (a systemd EnvironmentFile or a shell `set -a; .` file)
#   -o dropin  print a systemd drop-in for etcd.service (User=, hardening, Environment=...)
#   -o start   (default) write the drop-in, start etcd with systemctl, wait until it answers on
#              its client URL over TLS, report "ready" to the node API, then write and start the
#              renewal timer
#   -o renew   when the stored renew-at time has come (else do nothing), get new certificates for
#              the node's key and replace peer.crt and server.crt; run by etcd-asg-renew.timer
#
# Steps: read the instance ID, private IP, region and role credentials from IMDSv2; make the etcd
# user, the node's key once (it never leaves the node) and a CSR for it; POST the CSR for the
# node's published configuration, which for a member or learner carries its peer and server
# certificates (SigV4-signed with the instance role's credentials; the API holds a not-yet-published
# answer up to 10 s; retried with backoff and jitter while it is not published yet or on 429/5xx,
# within one overall deadline); check the existing data dir against the configuration
# (joining an existing cluster, also against etcd's member list on a peer, over TLS); for a member
# of a recovered generation, download the snapshot through the presigned URL the answer carries,
# refuse it unless its size and SHA-256 match, and restore it with the answer's command (a data dir
# in the way is moved aside, never deleted); print or apply it with the local TLS settings (start mode polls the local etcd's health from 10 ms, doubling to
# 160 ms).
#
# Environment:
#   ETCD_ASG_NODE_API_URL      required. Base URL of the node API (a Lambda function URL with IAM
#                              auth), e.g. https://abc.lambda-url.eu-west-1.on.aws
#   ETCD_ASG_IMDS_ENDPOINT     IMDS base URL. Default http://169.254.169.254
#   ETCD_ASG_IMDS_TOKEN        an IMDSv2 token the caller holds (the user data hands over its own):
#                              no token is asked for until IMDS refuses it. Optional
#   ETCD_ASG_ROLE_CREDENTIALS  the role's credentials document as IMDS served it moments ago (the
#                              user data's): used for the first signed request instead of reading
#                              it again; read again a minute later. Optional. Neither is passed on
#                              to any program the script runs.
#   ETCD_ASG_DATA_DIR          etcd data dir. When set it wins over the published ETCD_DATA_DIR
#                              (the instance knows its disks); else the published one; else
#                              /var/lib/etcd.
#   ETCD_ASG_PKI_DIR           the node's key, certificates and renew-at time; a dir of its own
#                              (made 0750 root:<etcd group> when missing). Default /etc/etcd/pki
#   ETCD_ASG_ETCD_USER         the system user etcd runs as (made with useradd --system when
#                              missing); a number is a UID taken as is, its GID the same number.
#                              Default etcd
#   ETCD_ASG_DEADLINE_SECONDS  overall deadline for the whole run. Default 600
#   ETCD_ASG_BACKOFF_INITIAL_MS  first retry delay in milliseconds. Default 25
#   ETCD_ASG_BACKOFF_MAX_MS    longest retry delay in milliseconds. Default 20000
#   ETCD_ASG_ETCD_BIN          etcd binary. Default: `etcd` on PATH (start mode installs it when
#                              missing, to /usr/local/bin)
#   ETCD_ASG_ETCD_VERSION      etcd release installed when missing, and reported to the node API,
#                              which checks etcd's version rules against it. Default 3.5.6
#   ETCD_ASG_ETCD_SHA256       SHA-256 of etcd-v<version>-linux-<arch>.tar.gz. Default: the pinned
#                              hash of the default version on amd64; required otherwise
#   ETCD_ASG_ETCD_DOWNLOAD_URL release base URL. Default https://github.com/etcd-io/etcd/releases/download
#   ETCD_ASG_DROPIN_DIR        where start mode writes 20-etcd-asg.conf; the renewal timer and
#                              service go in its parent. Default /etc/systemd/system/etcd.service.d
#
# Exit codes (documented with their causes in README.md):
#   0 etcd started / already initialised / configuration printed / not a member (cluster full;
#     with -o start only once the deadline has passed without a free slot) / certificates renewed
#     or not due yet
#   1 transient failure until the deadline (IMDS or node API unreachable, not yet published, 429, 5xx)
#   2 bad usage or bad environment          3 identity refused (403, no instance role)
#   4 request rejected by the node API (400: also a refused CSR, 404, 409)
#   5 malformed answer from the node API or IMDS (also certificates not for this node's key and IP)
#   6 data-dir or PKI-dir conflict (cannot write the data dir, marker, key or certificates)
#   7 etcd did not become healthy in time   8 missing prerequisite (curl too old, etcd not
#     installable, no etcd user, no node key to renew)
#   9 etcd version refused (a skipped minor, a downgrade): etcd is not started
#  10 restore refused or failed (the snapshot's download, SHA-256 or size does not match, or the
#     restore command failed): etcd is not started
set -euo pipefail

readonly EXIT_TRANSIENT=1
readonly EXIT_USAGE=2
readonly EXIT_IDENTITY_REFUSED=3
readonly EXIT_REQUEST_REJECTED=4
readonly EXIT_MALFORMED_ANSWER=5
readonly EXIT_DATA_DIR_CONFLICT=6
readonly EXIT_UNHEALTHY=7
readonly EXIT_PREREQUISITE=8
readonly EXIT_VERSION_REFUSED=9
readonly EXIT_RESTORE_FAILED=10

readonly DROPIN_NAME=20-etcd-asg.conf
# Seconds the node API may hold a configuration request that is not answered yet (its maximum).
readonly CONFIG_WAIT_SECONDS=10
# etcd's first healthy answer comes tens of ms after its start on a fast machine and a few hundred
# on a slow one: ask early, then every 40 ms at most (one curl each), so the answer is seen within
# 40 ms of etcd giving it.
readonly HEALTH_POLL_FIRST_MS=10
readonly HEALTH_POLL_MAX_MS=40
# How long the role's credentials read from IMDS are reused before they are read again.
readonly CREDENTIALS_REUSE_MS=60000
readonly PINNED_ETCD_VERSION=3.5.6
readonly PINNED_ETCD_SHA256_AMD64=4db32e3bc06dd0999e2171f76a87c1cffed8369475ec7aa7abee9023635670fb
# etcd's own keys, in the order they are printed; ETCD_ASG_* keys describe the decision.
readonly ETCD_KEYS=(ETCD_NAME ETCD_DATA_DIR ETCD_INITIAL_CLUSTER ETCD_INITIAL_CLUSTER_STATE
  ETCD_INITIAL_CLUSTER_TOKEN ETCD_INITIAL_ADVERTISE_PEER_URLS ETCD_LISTEN_PEER_URLS
  ETCD_LISTEN_CLIENT_URLS ETCD_ADVERTISE_CLIENT_URLS)
# etcd's storage settings (backend quota from the data volume's size, auto-compaction): printed
# after the keys above when the node API sends them, each checked against its own pattern.
readonly STORAGE_KEYS=(ETCD_QUOTA_BACKEND_BYTES ETCD_AUTO_COMPACTION_MODE ETCD_AUTO_COMPACTION_RETENTION)
declare -rA STORAGE_VALUE_PATTERNS=(
  [ETCD_QUOTA_BACKEND_BYTES]='^[1-9][0-9]{0,15}$'
  [ETCD_AUTO_COMPACTION_MODE]='^(periodic|revision)$'
  [ETCD_AUTO_COMPACTION_RETENTION]='^([0-9]+|([0-9]+[hms])+)$'
)
# A node of a recovered generation restores a snapshot before etcd's first start: a presigned GET,
# what the download must match, the revision it holds, and the restore command the node API chose.
readonly RESTORE_KEYS=(ETCD_ASG_RESTORE_URL ETCD_ASG_RESTORE_SHA256 ETCD_ASG_RESTORE_SIZE
  ETCD_ASG_RESTORE_REVISION ETCD_ASG_RESTORE_COMMAND)
declare -rA RESTORE_VALUE_PATTERNS=(
  [ETCD_ASG_RESTORE_URL]='^https?://[^[:space:]]+$'
  [ETCD_ASG_RESTORE_SHA256]='^[0-9a-f]{64}$'
  [ETCD_ASG_RESTORE_SIZE]='^[1-9][0-9]{0,15}$'
  [ETCD_ASG_RESTORE_REVISION]='^[0-9]{1,20}$'
  [ETCD_ASG_RESTORE_COMMAND]='^etcd(ctl|utl) snapshot restore [][A-Za-z0-9._:/,=@%+~{} -]+$'
)
# An initial member of a new cluster may be told which member to wait for before etcd's first start
# (its peer URL), and for how long while that member's peer port is closed (wait_for_first_member).
readonly START_KEYS=(ETCD_ASG_START_AFTER ETCD_ASG_START_AFTER_CLOSED_MS)
# etcd's TLS settings: the file locations are this node's, so the script adds them itself.
readonly TLS_KEYS=(ETCD_CLIENT_CERT_AUTH ETCD_TRUSTED_CA_FILE ETCD_CERT_FILE ETCD_KEY_FILE
  ETCD_PEER_CLIENT_CERT_AUTH ETCD_PEER_TRUSTED_CA_FILE ETCD_PEER_CERT_FILE ETCD_PEER_KEY_FILE)
# The certificate answer: four base64 PEM certificates and two times in epoch seconds.
readonly CERTIFICATE_KEYS=(ETCD_ASG_PEER_CERT ETCD_ASG_SERVER_CERT ETCD_ASG_PEER_CA ETCD_ASG_CLIENT_CA
  ETCD_ASG_RENEW_AT ETCD_ASG_NOT_AFTER)
readonly RENEW_UNIT=etcd-asg-renew
# One line of an answer: KEY="value", the value free of ", \, $ and backquote.
readonly LINE_PATTERN='^([A-Z][A-Z0-9_]*)="([^"\\$`]*)"$'
# etcd values also go on a command line unquoted (-o flags), so they are plain URL characters.
readonly ETCD_VALUE_PATTERN='^[][A-Za-z0-9._:/,=@%+~-]+$'
# Local paths also go into unit files (ReadWritePaths=, ExecStart=): no spaces, quotes or %.
readonly LOCAL_PATH_PATTERN='^/[A-Za-z0-9._/@+~:,=-]*$'
# The `openssl x509 -pubkey -ext subjectAltName` (printing into FILE.x509) and the `openssl verify`
# (printing into FILE.verify) that decode_certificate starts in the background for a node
# certificate FILE, by FILE: check_node_certificate waits for them.
declare -A X509_JOB=() VERIFY_JOB=()

# Every program run costs a process start (milliseconds on a small instance), so the join's path
# runs few: helpers set variables rather than print into a $(...), files are read with $(<file) and
# checked in bash, and $(exec program ... 2>/dev/null) runs the program in the substitution's own
# process (with a redirection inside, bash would fork once more).
info() { printf 'etcd-asg-boot: %s\n' "$*" >&2; }
warn() { printf 'etcd-asg-boot: warning: %s\n' "$*" >&2; }
# fatal CODE MESSAGE...
fatal() {
  local code=$1
  shift
  printf 'etcd-asg-boot: error: %s\n' "$*" >&2
  exit "$code"
}

usage() {
  sed -n '/^# Usage:/,/^set -euo pipefail/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------------------------------------
# Settings and prerequisites

read_settings() {
  NODE_API_URL=${ETCD_ASG_NODE_API_URL:-}
  IMDS_ENDPOINT=${ETCD_ASG_IMDS_ENDPOINT:-http://169.254.169.254}
  DEADLINE_SECONDS=${ETCD_ASG_DEADLINE_SECONDS:-600}
  BACKOFF_INITIAL_MS=${ETCD_ASG_BACKOFF_INITIAL_MS:-25}
  BACKOFF_MAX_MS=${ETCD_ASG_BACKOFF_MAX_MS:-20000}
  DROPIN_DIR=${ETCD_ASG_DROPIN_DIR:-/etc/systemd/system/etcd.service.d}
  PKI_DIR=${ETCD_ASG_PKI_DIR:-/etc/etcd/pki}
  ETCD_USER_SETTING=${ETCD_ASG_ETCD_USER:-etcd}
  IMDS_TOKEN=${ETCD_ASG_IMDS_TOKEN:-}
  HANDED_CREDENTIALS=${ETCD_ASG_ROLE_CREDENTIALS:-}
  # Secrets stay in this shell: unexported, so no program the script runs sees them.
  unset ETCD_ASG_IMDS_TOKEN ETCD_ASG_ROLE_CREDENTIALS

  [[ -n $NODE_API_URL ]] || fatal "$EXIT_USAGE" "ETCD_ASG_NODE_API_URL is not set: set it to the node API's base URL"
  [[ $NODE_API_URL =~ ^https?://[^[:space:]]+$ ]] ||
    fatal "$EXIT_USAGE" "ETCD_ASG_NODE_API_URL must be an http(s) URL, got \"$NODE_API_URL\""
  NODE_API_URL=${NODE_API_URL%/}
  [[ $IMDS_ENDPOINT =~ ^https?://[^[:space:]]+$ ]] ||
    fatal "$EXIT_USAGE" "ETCD_ASG_IMDS_ENDPOINT must be an http(s) URL, got \"$IMDS_ENDPOINT\""
  IMDS_ENDPOINT=${IMDS_ENDPOINT%/}
  [[ -z $IMDS_TOKEN || $IMDS_TOKEN =~ ^[A-Za-z0-9_=+/-]{1,256}$ ]] ||
    fatal "$EXIT_USAGE" "ETCD_ASG_IMDS_TOKEN is not an IMDSv2 token (letters, digits and _=+/- only)"
  PKI_DIR=${PKI_DIR%/}
  [[ $PKI_DIR =~ $LOCAL_PATH_PATTERN && $PKI_DIR != / ]] ||
    fatal "$EXIT_USAGE" "ETCD_ASG_PKI_DIR must be an absolute path of a dir of its own without spaces, quotes or %, got \"$PKI_DIR\""
  # curl's arguments to ask a peer over TLS as this node (its peer certificate, once written).
  PEER_TLS=(--cacert "$PKI_DIR/peer-ca.crt" --cert "$PKI_DIR/peer.crt" --key "$PKI_DIR/node.key")
  [[ $ETCD_USER_SETTING =~ ^([0-9]+|[a-z_][a-z0-9_-]{0,31})$ ]] ||
    fatal "$EXIT_USAGE" "ETCD_ASG_ETCD_USER must be a user name or a numeric UID, got \"$ETCD_USER_SETTING\""
  require_positive_integer ETCD_ASG_DEADLINE_SECONDS "$DEADLINE_SECONDS"
  require_positive_integer ETCD_ASG_BACKOFF_INITIAL_MS "$BACKOFF_INITIAL_MS"
  require_positive_integer ETCD_ASG_BACKOFF_MAX_MS "$BACKOFF_MAX_MS"
  now_ms
  DEADLINE_MS=$((NOW_MS + DEADLINE_SECONDS * 1000))
}

require_positive_integer() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || fatal "$EXIT_USAGE" "$1 must be a positive integer, got \"$2\""
}

# --aws-sigv4 arrived in curl 7.75.0.
require_curl_with_sigv4() {
  local version major minor
  [[ -n ${CURL_VERSION_JOB:-} ]] || probe_curl_version
  wait "$CURL_VERSION_JOB" || true
  CURL_VERSION_JOB=
  # The second word of curl --version's first line, cut in bash: no pipeline on every boot.
  { version=$(<"$WORK_DIR/curl-version"); } 2>/dev/null || version=
  version=${version%%$'\n'*}
  version=${version#* }
  version=${version%% *}
  IFS=. read -r major minor _ <<<"$version"
  if [[ ! $major =~ ^[0-9]+$ || ! $minor =~ ^[0-9]+$ ]] || ((major < 7 || (major == 7 && minor < 75))); then
    fatal "$EXIT_PREREQUISITE" "curl $version cannot sign AWS requests (--aws-sigv4 needs curl 7.75 or later)"
  fi
}

# Starts curl --version in the background (its answer in $WORK_DIR/curl-version), so that a boot's
# IMDS reads run while it does: require_curl_with_sigv4 waits for it before the first signed request.
probe_curl_version() {
  curl --version >"$WORK_DIR/curl-version" 2>/dev/null &
  CURL_VERSION_JOB=$!
}

# ---------------------------------------------------------------------------------------------
# Time, deadline and backoff

# The clock helpers set a variable instead of printing: a $(...) forks a subshell, and they run
# before every request, health try and backoff step.

# Sets NOW_MS, milliseconds since the epoch: bash 5's EPOCHREALTIME runs no program; bash 4 asks date.
now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local us=${EPOCHREALTIME/[.,]/}
    NOW_MS=$((us / 1000))
  else
    NOW_MS=$(date +%s%3N)
  fi
}

# Sets REMAINING_MS, the milliseconds left before the deadline (negative once it has passed).
remaining_ms() {
  now_ms
  REMAINING_MS=$((DEADLINE_MS - NOW_MS))
}

# request_timeout CAP — sets REQUEST_TIMEOUT, the seconds (at least 1, at most CAP) a single request
# may take before the deadline.
request_timeout() {
  local cap=$1 left
  remaining_ms
  left=$(((REMAINING_MS + 999) / 1000))
  ((left < 1)) && left=1
  ((left < cap)) && cap=$left
  REQUEST_TIMEOUT=$cap
}

# utc_time VAR SECONDS — sets VAR to the UTC time of epoch SECONDS (bash's printf: no date process).
utc_time() {
  local TZ=UTC0
  printf -v "$1" '%(%Y-%m-%dT%H:%M:%SZ)T' "$2"
}

# sleep_ms MS — sleeps without running a program: a read that times out on a pipe this shell holds
# both ends of (opened on the first sleep, one process for the whole run).
sleep_ms() {
  local seconds
  [[ -n ${SLEEP_FD:-} ]] || exec {SLEEP_FD}<> <(:)
  printf -v seconds '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
  read -r -t "$seconds" -u "$SLEEP_FD" _ || :
}

# Sleeps for the next backoff step with jitter and doubles BACKOFF_MS; returns 1 when the deadline
# leaves no time for another attempt. Callers set BACKOFF_MS=$BACKOFF_INITIAL_MS before a loop.
backoff_or_give_up() {
  local delay
  remaining_ms
  ((REMAINING_MS > 0)) || return 1
  # Equal jitter: half the step fixed, half random, so retrying nodes spread out.
  delay=$((BACKOFF_MS / 2 + RANDOM % (BACKOFF_MS / 2 + 1)))
  ((delay > REMAINING_MS)) && delay=$REMAINING_MS
  sleep_ms "$delay"
  BACKOFF_MS=$((BACKOFF_MS * 2))
  ((BACKOFF_MS > BACKOFF_MAX_MS)) && BACKOFF_MS=$BACKOFF_MAX_MS
  remaining_ms
  ((REMAINING_MS > 0))
}

# ---------------------------------------------------------------------------------------------
# IMDSv2

# imds_get PATH... — one curl asks IMDS for every PATH (a transfer each, on one connection); sets
# IMDS_VALUES, in PATH order. Returns 1 on a transient failure of any, exits on a missing value.
imds_get() {
  local paths=("$@") path status statuses=() args=() i
  if [[ -z ${IMDS_TOKEN:-} ]]; then
    request_timeout 5
    IMDS_TOKEN=$(exec curl -sS -f --max-time "$REQUEST_TIMEOUT" -X PUT \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS_ENDPOINT/latest/api/token" 2>/dev/null) || {
      LAST_FAILURE="IMDS at $IMDS_ENDPOINT did not issue a token"
      IMDS_TOKEN=
      return 1
    }
  fi
  for i in "${!paths[@]}"; do args+=(-o "$WORK_DIR/imds-body-$i" "$IMDS_ENDPOINT${paths[i]}"); done
  request_timeout 5
  # A status per transfer (000 for one that got no answer); curl goes on to the next after a failure.
  read -r -a statuses <<<"$(exec curl -sS -w '%{http_code} ' --max-time "$REQUEST_TIMEOUT" \
    -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "${args[@]}" 2>/dev/null)"
  IMDS_VALUES=()
  for i in "${!paths[@]}"; do
    path=${paths[i]}
    status=${statuses[i]:-000}
    case $status in
      200) IMDS_VALUES[i]=$(<"$WORK_DIR/imds-body-$i") ;;
      401)
        # The token expired or IMDS restarted: ask for a new one on the next attempt.
        IMDS_TOKEN=
        LAST_FAILURE="IMDS refused the token for $path (401)"
        return 1
        ;;
      404)
        if [[ $path == /latest/meta-data/iam/* ]]; then
          fatal "$EXIT_IDENTITY_REFUSED" "IMDS has no $path: the instance has no instance profile (IAM role) attached"
        fi
        fatal "$EXIT_MALFORMED_ANSWER" "IMDS has no $path (404)"
        ;;
      *)
        LAST_FAILURE="IMDS at $IMDS_ENDPOINT answered $status for $path"
        return 1
        ;;
    esac
  done
}

# imds_read VAR PATH PATTERN [VAR PATH PATTERN]... — reads every PATH in one curl, retried until
# IMDS answers or the deadline passes; each VALUE must match its PATTERN.
imds_read() {
  local reads=("$@") paths=() i value pattern
  for ((i = 1; i < ${#reads[@]}; i += 3)); do paths+=("${reads[i]}"); done
  BACKOFF_MS=$BACKOFF_INITIAL_MS
  until imds_get "${paths[@]}"; do
    backoff_or_give_up || fatal "$EXIT_TRANSIENT" "deadline of ${DEADLINE_SECONDS}s passed: $LAST_FAILURE"
  done
  for i in "${!paths[@]}"; do
    value=${IMDS_VALUES[i]} pattern=${reads[3 * i + 2]}
    [[ $value =~ $pattern ]] || fatal "$EXIT_MALFORMED_ANSWER" "IMDS answered \"${value:0:120}\" for ${paths[i]}, which is not a valid value"
    printf -v "${reads[3 * i]}" '%s' "$value"
  done
}

# The instance's identity and its role's name (which read_role_credentials needs), in one read.
read_instance_identity() {
  imds_read INSTANCE_ID /latest/meta-data/instance-id '^i-[0-9a-f]+$' \
    PRIVATE_IP /latest/meta-data/local-ipv4 '^[0-9]{1,3}(\.[0-9]{1,3}){3}$' \
    REGION /latest/meta-data/placement/region '^[a-z]{2}(-[a-z]+)+-[0-9]+$' \
    ROLE_NAME /latest/meta-data/iam/security-credentials/ '^[A-Za-z0-9+=,.@_-]+$'
  info "instance $INSTANCE_ID, private IP $PRIVATE_IP, region $REGION"
}

# json_string_field VAR JSON KEY — sets VAR to the string value of a top-level "KEY": "value" pair,
# or to nothing when there is none.
json_string_field() {
  local pattern="\"$3\"[[:space:]]*:[[:space:]]*\"([^\"]*)\""
  printf -v "$1" '%s' ''
  [[ $2 =~ $pattern ]] && printf -v "$1" '%s' "${BASH_REMATCH[1]}"
  return 0
}

# Reads the temporary credentials of the role ROLE_NAME before a signed request, again once the
# last read is CREDENTIALS_REUSE_MS old: IMDS rotates them, serving new ones at least five minutes
# before the old ones expire, so a read a minute old is still good. The first read is the document
# the user data handed over (ETCD_ASG_ROLE_CREDENTIALS), when it did: IMDS's answer of moments ago.
read_role_credentials() {
  local role=$ROLE_NAME document code read_at what=ETCD_ASG_ROLE_CREDENTIALS refused=$EXIT_USAGE malformed=$EXIT_USAGE
  now_ms
  read_at=$NOW_MS
  [[ -n ${CREDENTIALS_READ_MS:-} ]] && ((read_at - CREDENTIALS_READ_MS < CREDENTIALS_REUSE_MS)) && return
  document=$HANDED_CREDENTIALS
  HANDED_CREDENTIALS=
  if [[ -z $document ]]; then
    imds_read document "/latest/meta-data/iam/security-credentials/$role" '.'
    what="IMDS credentials document for role $role" refused=$EXIT_IDENTITY_REFUSED malformed=$EXIT_MALFORMED_ANSWER
  fi
  json_string_field code "$document" Code
  [[ $code == Success ]] || fatal "$refused" "$what: the credentials are not usable (Code \"$code\")"
  json_string_field ACCESS_KEY_ID "$document" AccessKeyId
  json_string_field SECRET_ACCESS_KEY "$document" SecretAccessKey
  json_string_field SESSION_TOKEN "$document" Token
  [[ $ACCESS_KEY_ID =~ ^[A-Z0-9]+$ && $SECRET_ACCESS_KEY =~ ^[A-Za-z0-9+/=]+$ && $SESSION_TOKEN =~ ^[A-Za-z0-9+/=_-]+$ ]] ||
    fatal "$malformed" "$what lacks AccessKeyId, SecretAccessKey or Token"
  CREDENTIALS_READ_MS=$read_at
}

# ---------------------------------------------------------------------------------------------
# Node API

# node_api METHOD PATH [BODY_FILE CONTENT_TYPE] — one SigV4-signed request (curl signs the body's
# hash too); sets HTTP_STATUS (000 when unreachable) and writes the answer to $WORK_DIR/api-body.
node_api() {
  local method=$1 path=$2 body=()
  read_role_credentials
  if (($# == 4)); then
    body=(--data-binary "@$3" -H "content-type: $4")
  elif [[ $method == POST ]]; then
    body=(--data-binary '')
  fi
  # Secrets go through a curl config on stdin so they never show in the process list.
  request_timeout 30
  HTTP_STATUS=$(exec curl -sS -K - -X "$method" "${body[@]}" -o "$WORK_DIR/api-body" -w '%{http_code}' \
    --connect-timeout 5 --max-time "$REQUEST_TIMEOUT" --aws-sigv4 "aws:amz:$REGION:lambda" \
    "$NODE_API_URL$path" 2>/dev/null <<EOF
user = "$ACCESS_KEY_ID:$SECRET_ACCESS_KEY"
header = "x-amz-security-token: $SESSION_TOKEN"
EOF
  ) || HTTP_STATUS=000
}

# Maps the node API's non-success statuses to an exit or a retry (return 1).
classify_api_failure() {
  local what=$1 body
  body=$(head -c 300 "$WORK_DIR/api-body" 2>/dev/null | tr -s '\n' ' ') || body=
  case $HTTP_STATUS in
    403) fatal "$EXIT_IDENTITY_REFUSED" "the node API refused $what for instance $INSTANCE_ID (403): the caller is not that instance or its role may not call the API. ${body}" ;;
    400 | 404) fatal "$EXIT_REQUEST_REJECTED" "the node API rejected $what for instance $INSTANCE_ID ($HTTP_STATUS): ${body}" ;;
    409) fatal "$EXIT_REQUEST_REJECTED" "the node API refused $what for instance $INSTANCE_ID as a conflict with the cluster's state (409): ${body}" ;;
    000) LAST_FAILURE="the node API at $NODE_API_URL is unreachable" ;;
    429 | 5??) LAST_FAILURE="the node API answered $HTTP_STATUS to $what: ${body}" ;;
    *) fatal "$EXIT_REQUEST_REJECTED" "the node API answered an unexpected $HTTP_STATUS to $what: ${body}" ;;
  esac
  return 1
}

# parse_lines FILE MAP ALLOWED_KEY... — validates every line, then fills the associative array
# MAP. Nothing is evaluated: each line must match LINE_PATTERN with an allowed key not seen before.
# Returns 1 with PARSE_ERROR set (and MAP emptied) otherwise.
parse_lines() {
  local file=$1 line key n=0
  local -n parsed_map=$2
  shift 2
  local -A allowed=()
  for key in "$@"; do allowed[$key]=1; done
  parsed_map=()
  PARSE_ERROR=
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ -z $line ]] && continue
    key=
    [[ $line =~ $LINE_PATTERN ]] && key=${BASH_REMATCH[1]}
    if [[ -z $key ]]; then
      PARSE_ERROR="line $n is not KEY=\"value\": ${line:0:120}"
    elif [[ -z ${allowed[$key]:-} ]]; then
      PARSE_ERROR="line $n has unknown key $key"
    elif [[ -n ${parsed_map["$key"]+set} ]]; then
      PARSE_ERROR="line $n repeats key $key"
    else
      parsed_map["$key"]=${BASH_REMATCH[2]}
      continue
    fi
    parsed_map=()
    return 1
  done <"$file"
}

# parse_answer MAP ALLOWED_KEY... — parses the node API's last answer into MAP or exits.
parse_answer() {
  parse_lines "$WORK_DIR/api-body" "$@" ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API ($HTTP_STATUS), $PARSE_ERROR"
}

# POSTs the CSR for this node's configuration; for a member or learner the answer also carries its
# certificates (so one round trip gets both), validated with the rest of it.
fetch_config() {
  local standby_query='' version_query=''
  [[ $MODE == start ]] && standby_query='&standby=1'
  # The release this node runs (installed when missing): the node API checks etcd's version rules.
  version_query="etcd=${ETCD_ASG_ETCD_VERSION:-$PINNED_ETCD_VERSION}&"
  info "asking the node API for the configuration of $INSTANCE_ID"
  BACKOFF_MS=$BACKOFF_INITIAL_MS
  while :; do
    # wait: the node API holds a "not published yet" answer until the ledger moves (long polling);
    # standby (start mode): it holds a "not a member" answer too, while this node stands by.
    # Parameters in sorted order: curl signs the query as written, SigV4 verifies it sorted.
    node_api POST "/v1/nodes/$INSTANCE_ID/config?${version_query}format=env${standby_query}&wait=$CONFIG_WAIT_SECONDS" \
      "$WORK_DIR/node.csr" application/x-pem-file
    case $HTTP_STATUS in
      200)
        # Starting, a node left out of a full cluster stands by: a slot frees when a member leaves
        # (a launch-before-terminate replacement goes in service before its predecessor goes).
        if [[ $MODE == start ]] && standing_by; then
          backoff_or_give_up || break
          continue
        fi
        break
        ;;
      202)
        parse_answer ANSWER ETCD_ASG_DECISION ETCD_ASG_REASON
        [[ ${ANSWER[ETCD_ASG_DECISION]:-} == wait ]] ||
          fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: 202 without ETCD_ASG_DECISION=\"wait\""
        LAST_FAILURE="the configuration is not published yet: ${ANSWER[ETCD_ASG_REASON]:-no reason given}"
        info "$LAST_FAILURE"
        ;;
      # 503 is also "KMS unavailable": the CA keys cannot sign for now.
      *) classify_api_failure "the configuration request" || warn "$LAST_FAILURE" ;;
    esac
    backoff_or_give_up || fatal "$EXIT_TRANSIENT" "deadline of ${DEADLINE_SECONDS}s passed: $LAST_FAILURE"
  done
  parse_answer ANSWER ETCD_ASG_DECISION ETCD_ASG_REASON "${ETCD_KEYS[@]}" "${STORAGE_KEYS[@]}" "${RESTORE_KEYS[@]}" "${START_KEYS[@]}" \
    "${CERTIFICATE_KEYS[@]}"
  validate_config
  take_certificates
}

# Fills CERTIFICATES from the answer for validate_certificates, which a member or learner runs; any
# other answer must carry none.
take_certificates() {
  local key
  CERTIFICATES=()
  for key in "${CERTIFICATE_KEYS[@]}"; do
    [[ -n ${ANSWER[$key]+set} ]] && CERTIFICATES[$key]=${ANSWER[$key]}
  done
  [[ $DECISION == member || $DECISION == learner ]] || ((${#CERTIFICATES[@]} == 0)) ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: a $DECISION's configuration must carry no certificates"
}

# True (and logged) when the last 200 answer says not-a-member: the caller polls again.
standing_by() {
  parse_answer ANSWER ETCD_ASG_DECISION ETCD_ASG_REASON "${ETCD_KEYS[@]}" "${STORAGE_KEYS[@]}" "${RESTORE_KEYS[@]}" "${START_KEYS[@]}" \
    "${CERTIFICATE_KEYS[@]}"
  [[ ${ANSWER[ETCD_ASG_DECISION]:-} == not-a-member ]] || return 1
  info "not a member for now, standing by for a free slot until the deadline: ${ANSWER[ETCD_ASG_REASON]:-no reason given}"
}

# Checks the answer as a whole; the published name and peer URL must be this instance's.
validate_config() {
  local decision=${ANSWER[ETCD_ASG_DECISION]:-} key peer_url
  DECISION=$decision
  RESTORE=
  REASON=${ANSWER[ETCD_ASG_REASON]:-}
  [[ -n $REASON ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: ETCD_ASG_REASON is missing"
  case $decision in
    not-a-member | refused)
      for key in "${ETCD_KEYS[@]}" "${STORAGE_KEYS[@]}"; do
        [[ -z ${ANSWER[$key]+set} ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: not-a-member must not carry $key"
      done
      return
      ;;
    member | learner) ;;
    *) fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: ETCD_ASG_DECISION is \"$decision\", expected member, learner, not-a-member or refused" ;;
  esac
  for key in "${ETCD_KEYS[@]}"; do
    [[ -n ${ANSWER[$key]:-} ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: $key is missing for a $decision"
    [[ ${ANSWER[$key]} =~ $ETCD_VALUE_PATTERN ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: $key has characters etcd flags cannot carry: ${ANSWER[$key]}"
  done
  for key in "${STORAGE_KEYS[@]}"; do
    [[ -z ${ANSWER[$key]+set} || ${ANSWER[$key]} =~ ${STORAGE_VALUE_PATTERNS[$key]} ]] ||
      fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: $key is \"${ANSWER[$key]}\", which etcd does not take"
  done
  case ${ANSWER[ETCD_INITIAL_CLUSTER_STATE]} in
    new) [[ $decision == member ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: a learner cannot start a new cluster" ;;
    existing) ;;
    *) fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: ETCD_INITIAL_CLUSTER_STATE is \"${ANSWER[ETCD_INITIAL_CLUSTER_STATE]}\", expected new or existing" ;;
  esac
  [[ ${ANSWER[ETCD_NAME]} == "$INSTANCE_ID" ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "the node API published ETCD_NAME=${ANSWER[ETCD_NAME]} for instance $INSTANCE_ID (the member name must be the instance ID)"
  peer_url=${ANSWER[ETCD_INITIAL_ADVERTISE_PEER_URLS]%%,*}
  [[ $peer_url =~ ^https?://${PRIVATE_IP//./\\.}:[0-9]+$ ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "the node API published peer URL $peer_url, which is not this instance's private IP $PRIVATE_IP"
  [[ ,${ANSWER[ETCD_INITIAL_CLUSTER]}, == *",$INSTANCE_ID=$peer_url,"* ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "the published ETCD_INITIAL_CLUSTER does not contain $INSTANCE_ID=$peer_url"
  validate_restore
  validate_start_after
}

# Both start-after keys or neither; only for a member starting a new cluster without a restore, and
# naming another member's peer URL in its initial cluster.
validate_start_after() {
  local url=${ANSWER[ETCD_ASG_START_AFTER]-} ms=${ANSWER[ETCD_ASG_START_AFTER_CLOSED_MS]-}
  [[ -z ${ANSWER[ETCD_ASG_START_AFTER]+set} && -z ${ANSWER[ETCD_ASG_START_AFTER_CLOSED_MS]+set} ]] && return
  [[ $ms =~ ^[1-9][0-9]{0,4}$ ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: ETCD_ASG_START_AFTER needs ETCD_ASG_START_AFTER_CLOSED_MS, 1 to 99999 ms, got \"$ms\""
  [[ $DECISION == member && ${ANSWER[ETCD_INITIAL_CLUSTER_STATE]} == new && -z $RESTORE ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: a member to start after is only for a member starting a new cluster without a restore"
  [[ $url =~ ^https?://[^[:space:]/]+$ && $url != "${ANSWER[ETCD_INITIAL_ADVERTISE_PEER_URLS]%%,*}" &&
    ,${ANSWER[ETCD_INITIAL_CLUSTER]}, == *"=$url,"* ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: ETCD_ASG_START_AFTER=\"$url\" is not another member's peer URL in ETCD_INITIAL_CLUSTER"
}

# A restore comes whole, only to a member starting a new cluster, and restores this member with the
# published token: anything else is a malformed answer. Sets RESTORE (1 or empty).
validate_restore() {
  local key present=0 command
  for key in "${RESTORE_KEYS[@]}"; do [[ -n ${ANSWER[$key]+set} ]] && present=$((present + 1)); done
  RESTORE=
  ((present == 0)) && return
  ((present == ${#RESTORE_KEYS[@]})) ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: a restore needs all of ${RESTORE_KEYS[*]}"
  for key in "${RESTORE_KEYS[@]}"; do
    [[ ${ANSWER[$key]} =~ ${RESTORE_VALUE_PATTERNS[$key]} ]] ||
      fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: $key is \"${ANSWER[$key]:0:120}\""
  done
  [[ $DECISION == member && ${ANSWER[ETCD_INITIAL_CLUSTER_STATE]} == new ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: a restore is only for a member starting a new cluster"
  command=" ${ANSWER[ETCD_ASG_RESTORE_COMMAND]} "
  [[ $command == *" --name=$INSTANCE_ID "* && $command == *" --initial-cluster-token=${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]} "* &&
    $command == *" {snapshot} "* && $command == *" --data-dir={data-dir} "* ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: the restore command is not for $INSTANCE_ID in cluster ${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]} with {snapshot} and --data-dir={data-dir}: ${ANSWER[ETCD_ASG_RESTORE_COMMAND]}"
  RESTORE=1
}

# ---------------------------------------------------------------------------------------------
# Data dir

choose_data_dir() {
  DATA_DIR=${ETCD_ASG_DATA_DIR:-${ANSWER[ETCD_DATA_DIR]:-/var/lib/etcd}}
  DATA_DIR=${DATA_DIR%/}
  [[ $DATA_DIR =~ $LOCAL_PATH_PATTERN ]] ||
    fatal "$EXIT_USAGE" "the data dir must be an absolute path without spaces, quotes or %, got \"$DATA_DIR\""
  MARKER=$DATA_DIR.etcd-asg
  [[ ! -e $DATA_DIR || -d $DATA_DIR ]] || fatal "$EXIT_DATA_DIR_CONFLICT" "data dir $DATA_DIR exists and is not a directory"
}

# compgen is a builtin: no ls. Hidden entries count too.
data_dir_is_empty() {
  [[ ! -d $DATA_DIR ]] && return
  ! compgen -G "$DATA_DIR/*" >/dev/null && ! compgen -G "$DATA_DIR/.[!.]*" >/dev/null &&
    ! compgen -G "$DATA_DIR/..?*" >/dev/null
}

# Decides what the existing data dir means; sets DATA_DIR_STATE to fresh or initialised.
check_data_dir() {
  local why
  local -A marker=()
  DATA_DIR_STATE=fresh
  if data_dir_is_empty; then
    return
  fi
  # An unreadable marker counts as none: the data dir's origin is then unknown.
  [[ -f $MARKER ]] && parse_lines "$MARKER" marker ETCD_INITIAL_CLUSTER_TOKEN ETCD_NAME
  if [[ $DECISION == not-a-member ]]; then
    why="this instance is not a member any more (removed member)"
  elif [[ -z ${marker[ETCD_INITIAL_CLUSTER_TOKEN]:-} || -z ${marker[ETCD_NAME]:-} ]]; then
    why="no valid marker $MARKER says which cluster and member it belongs to"
  elif [[ ${marker[ETCD_INITIAL_CLUSTER_TOKEN]} != "${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]}" ]]; then
    why="it belongs to another cluster (token ${marker[ETCD_INITIAL_CLUSTER_TOKEN]}, published ${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]})"
  elif [[ ${marker[ETCD_NAME]} != "${ANSWER[ETCD_NAME]}" ]]; then
    why="it belongs to another member (${marker[ETCD_NAME]})"
  elif [[ ${ANSWER[ETCD_INITIAL_CLUSTER_STATE]} == existing ]] && ! member_started_in_cluster; then
    # The name is the instance ID, so a member removed and added again has the same marker; etcd
    # refuses a removed member's data dir for good, while the new entry waits for a fresh start.
    why="its member was removed from the cluster: $MEMBERS_PEER lists no started member $INSTANCE_ID"
  else
    DATA_DIR_STATE=initialised
    return
  fi
  move_data_dir_aside "$why"
}

# False when a peer of the published cluster answers etcd's peer /members list without a started
# member named $INSTANCE_ID (MEMBERS_PEER names that peer). True when one lists it, or when no peer
# answers (all down, or TLS peers while this node has no peer certificate yet): the data dir is
# then kept, as the marker says. Peers are asked over TLS with the node's peer certificate.
member_started_in_cluster() {
  local entry url body started="\"name\"[[:space:]]*:[[:space:]]*\"$INSTANCE_ID\"" tls=()
  local -a entries
  if [[ -f $PKI_DIR/peer.crt && -f $PKI_DIR/peer-ca.crt && -f $PKI_DIR/node.key ]]; then
    tls=("${PEER_TLS[@]}")
  fi
  IFS=, read -r -a entries <<<"${ANSWER[ETCD_INITIAL_CLUSTER]}"
  for entry in "${entries[@]}"; do
    url=${entry#*=}
    [[ ,${ANSWER[ETCD_INITIAL_ADVERTISE_PEER_URLS]}, == *",$url,"* ]] && continue
    request_timeout 5
    body=$(exec curl -sS -f "${tls[@]}" --connect-timeout 2 --max-time "$REQUEST_TIMEOUT" "$url/members" 2>/dev/null) || continue
    [[ $body == '['*'"peerURLs"'* ]] || continue
    MEMBERS_PEER=$url
    [[ $body =~ $started ]]
    return
  done
  warn "no peer of $INSTANCE_ID answered on /members: keeping data dir $DATA_DIR as its marker says"
}

move_data_dir_aside() {
  local target
  target=$DATA_DIR.moved-$(date -u +%Y%m%dT%H%M%SZ)
  [[ ! -e $target ]] || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot move data dir $DATA_DIR aside: $target already exists"
  warn "moving data dir $DATA_DIR aside to $target: $1"
  mv -- "$DATA_DIR" "$target" || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot move data dir $DATA_DIR to $target"
  if [[ -f $MARKER ]]; then
    mv -- "$MARKER" "$target.etcd-asg" || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot move marker $MARKER to $target.etcd-asg"
  fi
  # etcd (often running as user etcd) may not create the dir itself in a root-owned parent.
  mkdir -m 700 -- "$DATA_DIR" || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot create data dir $DATA_DIR"
  chown --reference="$target" -- "$DATA_DIR" 2>/dev/null || warn "cannot give $DATA_DIR the owner of $target"
}

# ---------------------------------------------------------------------------------------------
# Restore (a node of a recovered generation, before etcd's first start)

# Downloads the snapshot through the presigned URL and checks its size and SHA-256; refuses it
# (exit 10) on any mismatch. The URL is a credential for its lifetime: it is never logged.
download_snapshot() {
  local file=$1 size sha256
  info "downloading snapshot (revision ${ANSWER[ETCD_ASG_RESTORE_REVISION]}, ${ANSWER[ETCD_ASG_RESTORE_SIZE]} bytes)"
  request_timeout 900
  # curl prints the bytes it wrote to the file: no stat process after it.
  size=$(exec curl -sSf --connect-timeout 5 --max-time "$REQUEST_TIMEOUT" -o "$file" -w '%{size_download}' \
    --config - <<<"url = \"${ANSWER[ETCD_ASG_RESTORE_URL]}\"" 2>"$WORK_DIR/download-error") ||
    fatal "$EXIT_RESTORE_FAILED" "cannot download the snapshot to restore: $(head -c 300 "$WORK_DIR/download-error")"
  [[ $size == "${ANSWER[ETCD_ASG_RESTORE_SIZE]}" ]] ||
    fatal "$EXIT_RESTORE_FAILED" "refusing to restore: the snapshot is $size bytes, the node API says ${ANSWER[ETCD_ASG_RESTORE_SIZE]}"
  sha256=$(sha256sum -- "$file") || fatal "$EXIT_RESTORE_FAILED" "cannot hash $file"
  sha256=${sha256%% *}
  [[ $sha256 == "${ANSWER[ETCD_ASG_RESTORE_SHA256]}" ]] ||
    fatal "$EXIT_RESTORE_FAILED" "refusing to restore: the snapshot's SHA-256 is $sha256, the node API says ${ANSWER[ETCD_ASG_RESTORE_SHA256]}"
}

# The restore tool (etcdctl or etcdutl): on the PATH, else next to etcd.
restore_tool() {
  local tool=$1 path
  path=$(command -v "$tool" || true)
  [[ -z $path && -n ${ETCD_BIN:-} && -x ${ETCD_BIN%/*}/$tool ]] && path=${ETCD_BIN%/*}/$tool
  [[ -n $path ]] || fatal "$EXIT_PREREQUISITE" "$tool is not installed: it restores the snapshot of this node's new generation"
  printf '%s' "$path"
}

# Restores into a dir next to the data dir, then puts it in place: the data dir is fresh (an old
# generation's was moved aside by check_data_dir), and anything in the way is moved aside, never
# deleted. A data dir already initialised for this generation (a rerun, a reboot) is kept.
restore_snapshot() {
  local words=() word args=() staging=$DATA_DIR.restoring tool aside entry
  [[ -n $RESTORE ]] || return 0
  if [[ $DATA_DIR_STATE == initialised ]]; then
    info "data dir $DATA_DIR already holds generation ${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]}: not restoring again"
    return
  fi
  download_snapshot "$WORK_DIR/snapshot.db"
  read -r -a words <<<"${ANSWER[ETCD_ASG_RESTORE_COMMAND]}"
  for word in "${words[@]:1}"; do
    word=${word//\{snapshot\}/$WORK_DIR/snapshot.db}
    args+=("${word//\{data-dir\}/$staging}")
  done
  tool=$(restore_tool "${words[0]}")
  if [[ -e $staging ]]; then
    aside=$staging.moved-$(date -u +%Y%m%dT%H%M%SZ)
    warn "moving $staging (an earlier restore that did not finish) aside to $aside"
    mv -- "$staging" "$aside" || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot move $staging aside to $aside"
  fi
  info "restoring revision ${ANSWER[ETCD_ASG_RESTORE_REVISION]} with ${words[0]} into $DATA_DIR"
  ETCDCTL_API=3 "$tool" "${args[@]}" >"$WORK_DIR/restore-output" 2>&1 ||
    fatal "$EXIT_RESTORE_FAILED" "${words[0]} snapshot restore failed: $(tail -c 600 "$WORK_DIR/restore-output" | tr -s '\n' ' ')"
  # check_data_dir left the data dir absent or empty. An empty one stays, since it may be a data
  # volume's mount point (which cannot be removed or renamed): the restored entries move into it.
  if [[ -d $DATA_DIR ]]; then
    for entry in "$staging"/* "$staging"/.[!.]*; do
      [[ -e $entry ]] || continue
      mv -- "$entry" "$DATA_DIR/" || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot move the restored $entry into the data dir $DATA_DIR"
    done
    rmdir -- "$staging" || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot remove $staging once restored into $DATA_DIR"
  else
    mv -- "$staging" "$DATA_DIR" || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot move the restored data dir $staging to $DATA_DIR"
  fi
  info "restored revision ${ANSWER[ETCD_ASG_RESTORE_REVISION]} into $DATA_DIR"
}

# etcd runs as the etcd user: the data dir is its own and only it may read it (a data dir an
# earlier etcd ran as root is handed over whole).
prepare_data_dir() {
  # A missing or empty data dir is made or given away by one install.
  if data_dir_is_empty; then
    install -d -m 700 -o "${ETCD_OWNER%%:*}" -g "${ETCD_OWNER#*:}" -- "$DATA_DIR" ||
      fatal "$EXIT_DATA_DIR_CONFLICT" "cannot give data dir $DATA_DIR to $ETCD_OWNER with mode 700"
  elif ! { chown -R -- "$ETCD_OWNER" "$DATA_DIR" && chmod 700 -- "$DATA_DIR"; }; then
    fatal "$EXIT_DATA_DIR_CONFLICT" "cannot give data dir $DATA_DIR to $ETCD_OWNER with mode 700"
  fi
}

# Records which cluster and member the data dir is initialised for, next to it (etcd owns the
# inside). Written before etcd starts, so a data dir etcd fills is never without a marker.
write_marker() {
  local tmp=$MARKER.tmp
  # prepare_data_dir has made the data dir, so its parent is there.
  if ! printf 'ETCD_INITIAL_CLUSTER_TOKEN="%s"\nETCD_NAME="%s"\n' \
    "${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]}" "${ANSWER[ETCD_NAME]}" >"$tmp" || ! mv -f -- "$tmp" "$MARKER"; then
    fatal "$EXIT_DATA_DIR_CONFLICT" "cannot write marker $MARKER"
  fi
}

# ---------------------------------------------------------------------------------------------
# The etcd user, the node's key and its certificates

# Sets ETCD_USER and ETCD_GROUP (systemd's User= and Group=) and ETCD_OWNER (chown's USER:GROUP),
# making the system user when it is missing. A number is a UID taken as is, with the same GID.
ensure_etcd_user() {
  ETCD_USER=$ETCD_USER_SETTING
  if [[ $ETCD_USER =~ ^[0-9]+$ ]]; then
    ETCD_GROUP=$ETCD_USER
  else
    if ! id -u "$ETCD_USER" >/dev/null 2>&1; then
      info "creating system user $ETCD_USER for etcd"
      useradd --system --no-create-home --shell /usr/sbin/nologin "$ETCD_USER" ||
        fatal "$EXIT_PREREQUISITE" "cannot create system user $ETCD_USER (useradd failed)"
    fi
    ETCD_GROUP=$(id -gn "$ETCD_USER") || fatal "$EXIT_PREREQUISITE" "cannot read the group of user $ETCD_USER"
  fi
  ETCD_OWNER=$ETCD_USER:$ETCD_GROUP
}

# A dir of its own, readable by etcd's group, writable by root only (etcd cannot replace its own
# certificates); a dir that exists is left as its owner made it.
prepare_pki_dir() {
  [[ -d $PKI_DIR ]] && return
  if ! install -d -m 750 -o root -g "$ETCD_GROUP" -- "$PKI_DIR"; then
    fatal "$EXIT_DATA_DIR_CONFLICT" "cannot create the PKI dir $PKI_DIR"
  fi
}

# install_pki_files MODE DIR NAME... — DIR/NAME, each, into the PKI dir as NAME, owned by the etcd
# user with MODE, atomically: one install copies them (with owner and mode) into a staging dir in the
# PKI dir, one mv renames them into place in the order given, so etcd never reads half a file. The
# staging dir goes with the work dir when the script exits (main's trap).
install_pki_files() {
  local mode=$1 dir=$2 name sources=() staged=()
  shift 2
  for name; do
    sources+=("$dir/$name")
    staged+=("$PKI_STAGING/$name")
  done
  if ! { install -D -m "$mode" -o "${ETCD_OWNER%%:*}" -g "${ETCD_OWNER#*:}" -t "$PKI_STAGING" -- "${sources[@]}" &&
    mv -f -t "$PKI_DIR" -- "${staged[@]}"; }; then
    fatal "$EXIT_DATA_DIR_CONFLICT" "cannot write $* to $PKI_DIR"
  fi
}

# same_text A B — true when file B exists and holds exactly A's text (read by bash: no cmp process).
same_text() {
  local a b
  [[ -f $2 ]] || return 1
  IFS= read -r -d '' a <"$1" || true
  IFS= read -r -d '' b <"$2" || true
  [[ $a == "$b" ]]
}

# The node's private key: made once, on the node, and never sent anywhere. Renewals reuse it, so a
# renewal changes only the certificate files and no handshake pairs a new certificate with an old
# key. make_csr checks that openssl can read it.
ensure_node_key() {
  local key=$PKI_DIR/node.key
  if [[ ! -e $key ]]; then
    [[ -n ${NODE_KEY_JOB:-} ]] || start_node_key
    wait "$NODE_KEY_JOB" ||
      fatal "$EXIT_PREREQUISITE" "openssl cannot make an EC P-256 key: $(head -c 300 "$WORK_DIR/node-key-err")"
    NODE_KEY_JOB=
    # Installed with its owner and mode: nothing more to give it.
    install_pki_files 600 "$WORK_DIR" node.key
    rm -f -- "$WORK_DIR/node.key"
    info "made this node's key $key (EC P-256)"
    return
  fi
  if ! { chown -- "$ETCD_OWNER" "$key" && chmod 600 -- "$key"; }; then
    fatal "$EXIT_DATA_DIR_CONFLICT" "cannot give the node key $key to $ETCD_OWNER with mode 600"
  fi
}

# Starts making the node's key in the work dir (root's alone) when the PKI dir has none, in the
# background, so that a first boot's IMDS reads run while openssl works: ensure_node_key waits for it.
start_node_key() {
  [[ -e $PKI_DIR/node.key ]] && return
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK_DIR/node.key" 2>"$WORK_DIR/node-key-err" &
  NODE_KEY_JOB=$!
}

# The CSR names the instance and nothing else: the node API chooses every SAN. No config file, so
# no distribution default adds extensions. One openssl makes the CSR ($WORK_DIR/node.csr) and prints
# the key's public key ($WORK_DIR/node.pub), which the certificates must hold.
make_csr() {
  local key=$PKI_DIR/node.key out begin=$'\n-----BEGIN CERTIFICATE REQUEST-----'
  if ! openssl req -new -config /dev/null -key "$key" -subj "/CN=$INSTANCE_ID" -pubkey \
    -out "$WORK_DIR/node.req" 2>"$WORK_DIR/openssl-err"; then
    openssl pkey -in "$key" -noout 2>/dev/null ||
      fatal "$EXIT_DATA_DIR_CONFLICT" "the node key $key is not a private key openssl can read: move it aside and run again to make a new one"
    fatal "$EXIT_PREREQUISITE" "openssl cannot make a CSR with $key: $(head -c 300 "$WORK_DIR/openssl-err")"
  fi
  out=$(<"$WORK_DIR/node.req")
  [[ $out == '-----BEGIN PUBLIC KEY-----'*'-----END PUBLIC KEY-----'"$begin"* ]] ||
    fatal "$EXIT_PREREQUISITE" "openssl req -pubkey did not print the public key, then the CSR, for $key"
  printf '%s\n' "${out%%"$begin"*}" >"$WORK_DIR/node.pub"
  printf '%s\n' "${begin#$'\n'}${out#*"$begin"}" >"$WORK_DIR/node.csr"
}

# Renewal: POSTs the CSR until the node API answers 200 or the deadline passes; fills CERTIFICATES.
fetch_certificates() {
  info "asking the node API for the certificates of $INSTANCE_ID"
  BACKOFF_MS=$BACKOFF_INITIAL_MS
  while :; do
    node_api POST "/v1/nodes/$INSTANCE_ID/certificates" "$WORK_DIR/node.csr" application/x-pem-file
    [[ $HTTP_STATUS == 200 ]] && break
    # 503 is also "KMS unavailable": the CA keys cannot sign for now.
    classify_api_failure "the certificate request" || warn "$LAST_FAILURE"
    backoff_or_give_up || fatal "$EXIT_TRANSIENT" "deadline of ${DEADLINE_SECONDS}s passed without certificates: $LAST_FAILURE"
  done
  parse_answer CERTIFICATES "${CERTIFICATE_KEYS[@]}"
}

# decode_certificate KEY FILE [CA_FILE] — the answer's KEY is the base64 of exactly one PEM
# certificate. A node certificate (signed by CA_FILE, decoded before it) is read by openssl and
# verified against its CA in the background, for check_node_certificate: the two node certificates'
# four openssl runs go at once, beside the next decoding. A CA (no CA_FILE) is read by the `openssl
# verify` of the certificate it signs, which refuses one openssl cannot read.
decode_certificate() {
  local key=$1 file=$2 ca=${3:-} value=${CERTIFICATES[$1]:-} pem
  [[ -n $value ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed certificate answer from the node API: $key is missing"
  if ! [[ $value =~ ^[A-Za-z0-9+/]+=?=?$ ]] || ! base64 -d <<<"$value" >"$file" 2>/dev/null; then
    fatal "$EXIT_MALFORMED_ANSWER" "malformed certificate answer from the node API: $key is not base64"
  fi
  # One "-----BEGIN " in the file, on a line of its own that begins a certificate, checked in bash.
  { pem=$'\n'$(<"$file")$'\n'; } 2>/dev/null
  if [[ $pem != *$'\n-----BEGIN CERTIFICATE-----\n'* || ${pem#*'-----BEGIN '} == *'-----BEGIN '* ]]; then
    fatal "$EXIT_MALFORMED_ANSWER" "malformed certificate answer from the node API: $key is not one PEM certificate"
  fi
  if [[ -n $ca ]]; then
    openssl x509 -in "$file" -noout -pubkey -ext subjectAltName >"$file.x509" 2>/dev/null &
    X509_JOB[$file]=$!
    openssl verify -CAfile "$ca" "$file" >"$file.verify" 2>&1 &
    VERIFY_JOB[$file]=$!
  fi
}

# check_node_certificate KEY FILE WHAT — FILE (the answer's KEY, decoded) holds this node's public
# key, names its private IP as an IP SAN and is signed by its CA (and valid now).
check_node_certificate() {
  local key=$1 file=$2 what=$3 out sans end='-----END PUBLIC KEY-----'
  # The public key, then the SAN extension (a title line, then the names), as openssl read them.
  wait "${X509_JOB[$file]}" ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed certificate answer from the node API: $key is not one PEM certificate"
  out=$(<"$file.x509")
  [[ $out == *"$end"* && ${out%%"$end"*}$end == "$(<"$WORK_DIR/node.pub")" ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "the node API sent a $what for another key than this node's: refusing it"
  sans=${out#*"$end"}
  sans=${sans#$'\n'}
  [[ $sans == *$'\n'* ]] && sans=${sans#*$'\n'} || sans=
  sans=${sans//[[:space:]]/}
  [[ ,$sans, == *",IPAddress:$PRIVATE_IP,"* ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "the node API sent a $what that does not name this node's private IP $PRIVATE_IP (SANs: ${sans:-none}): refusing it"
  wait "${VERIFY_JOB[$file]}" ||
    fatal "$EXIT_MALFORMED_ANSWER" "the node API sent a $what its CA does not verify: $(tr -s '\n' ' ' <"$file.verify" | head -c 300)"
}

# Checks the whole certificate answer in $WORK_DIR/pki before anything is written; sets RENEW_AT
# and NOT_AFTER.
validate_certificates() {
  local dir=$WORK_DIR/pki key now
  mkdir -p -- "$dir"
  for key in ETCD_ASG_RENEW_AT ETCD_ASG_NOT_AFTER; do
    [[ ${CERTIFICATES[$key]:-} =~ ^[1-9][0-9]{0,11}$ ]] ||
      fatal "$EXIT_MALFORMED_ANSWER" "malformed certificate answer from the node API: $key is \"${CERTIFICATES[$key]:-}\", expected epoch seconds"
  done
  RENEW_AT=${CERTIFICATES[ETCD_ASG_RENEW_AT]}
  NOT_AFTER=${CERTIFICATES[ETCD_ASG_NOT_AFTER]}
  now_ms
  now=$((NOW_MS / 1000))
  ((RENEW_AT <= NOT_AFTER && NOT_AFTER > now)) ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed certificate answer from the node API: renew at $RENEW_AT, not after $NOT_AFTER (now $now)"
  decode_certificate ETCD_ASG_PEER_CA "$dir/peer-ca.crt"
  decode_certificate ETCD_ASG_CLIENT_CA "$dir/client-ca.crt"
  decode_certificate ETCD_ASG_PEER_CERT "$dir/peer.crt" "$dir/peer-ca.crt"
  decode_certificate ETCD_ASG_SERVER_CERT "$dir/server.crt" "$dir/client-ca.crt"
  check_node_certificate ETCD_ASG_PEER_CERT "$dir/peer.crt" "peer certificate"
  check_node_certificate ETCD_ASG_SERVER_CERT "$dir/server.crt" "server certificate"
}

# CA files first, so a certificate is never in place before its CA; a CA file only when it changed.
# renew-at last: a run cut short before it renews again on the next timer tick.
write_certificates() {
  local dir=$WORK_DIR/pki name names=() renew_from valid_until
  for name in peer-ca.crt client-ca.crt; do
    same_text "$dir/$name" "$PKI_DIR/$name" || names+=("$name")
  done
  printf '%s\n' "$RENEW_AT" >"$dir/renew-at"
  install_pki_files 644 "$dir" "${names[@]}" server.crt peer.crt renew-at
  utc_time renew_from "$RENEW_AT"
  utc_time valid_until "$NOT_AFTER"
  info "wrote the certificates of $INSTANCE_ID to $PKI_DIR (renew from $renew_from, valid until $valid_until)"
}

# Renewal's way to certificates; a booting node gets them with its configuration (main).
obtain_certificates() {
  ensure_node_key
  make_csr
  fetch_certificates
  validate_certificates
  write_certificates
}

# True when the certificates are due: no renew-at stored (or not a time), or its time has come.
renewal_due() {
  local renew_at due
  [[ -f $PKI_DIR/renew-at ]] || return 0
  renew_at=$(<"$PKI_DIR/renew-at")
  [[ $renew_at =~ ^[1-9][0-9]{0,11}$ ]] || return 0
  now_ms
  ((NOW_MS / 1000 >= renew_at)) && return 0
  utc_time due "$renew_at"
  info "the certificates are not due for renewal before $due: nothing to do"
  return 1
}

# -o renew: runs from the timer; a failure exits non-zero (systemd logs it), keeps the certificates
# in place and is tried again on the next tick.
renew() {
  local key=$PKI_DIR/node.key
  renewal_due || return 0
  [[ -f $key ]] || fatal "$EXIT_PREREQUISITE" "no node key $key to renew certificates for: start the node with -o start first"
  ETCD_OWNER=$(stat -c %u:%g -- "$key") || fatal "$EXIT_DATA_DIR_CONFLICT" "cannot read the owner of $key"
  require_curl_with_sigv4
  read_instance_identity
  obtain_certificates
  info "renewed the certificates of $INSTANCE_ID; etcd reads them on its next TLS handshakes"
}

# ---------------------------------------------------------------------------------------------
# Output

# etcd_value KEY — sets VALUE to what etcd gets for KEY (a variable, not printed: the renderers call
# it once per key, and a $(...) would fork each time).
etcd_value() {
  case $1 in
    ETCD_DATA_DIR) VALUE=$DATA_DIR ;;
    ETCD_CLIENT_CERT_AUTH | ETCD_PEER_CLIENT_CERT_AUTH) VALUE=true ;;
    ETCD_TRUSTED_CA_FILE) VALUE=$PKI_DIR/client-ca.crt ;;
    ETCD_CERT_FILE) VALUE=$PKI_DIR/server.crt ;;
    ETCD_PEER_TRUSTED_CA_FILE) VALUE=$PKI_DIR/peer-ca.crt ;;
    ETCD_PEER_CERT_FILE) VALUE=$PKI_DIR/peer.crt ;;
    ETCD_KEY_FILE | ETCD_PEER_KEY_FILE) VALUE=$PKI_DIR/node.key ;;
    *) VALUE=${ANSWER[$1]} ;;
  esac
}

# output_keys — sets OUTPUT_KEYS: etcd's keys, the storage keys the answer carries, the TLS keys.
output_keys() {
  local key
  OUTPUT_KEYS=("${ETCD_KEYS[@]}")
  for key in "${STORAGE_KEYS[@]}"; do [[ -z ${ANSWER[$key]+set} ]] || OUTPUT_KEYS+=("$key"); done
  OUTPUT_KEYS+=("${TLS_KEYS[@]}")
}

render_flags() {
  local key flag out=()
  output_keys
  for key in "${OUTPUT_KEYS[@]}"; do
    flag=${key#ETCD_}
    flag=${flag,,}
    etcd_value "$key"
    out+=("--${flag//_/-}=$VALUE")
  done
  printf '%s\n' "${out[*]}"
}

render_env() {
  local key
  output_keys
  printf '# etcd-asg: %s (%s)\n' "$DECISION" "$REASON"
  for key in "${OUTPUT_KEYS[@]}"; do
    etcd_value "$key"
    printf '%s="%s"\n' "$key" "$VALUE"
  done
}

# Bounded restarts: systemd restarts a single crash; a crash loop stops, and the control plane
# notices a member that stays down (health replacement) instead of it flapping for ever.
render_start_limits() {
  printf '%s\n' 'StartLimitIntervalSec=300' 'StartLimitBurst=5'
}

# What etcd needs and nothing more: its own user, no privileges, a read-only system but for its data
# dir, IP and Unix sockets only.
render_service_hardening() {
  printf '%s\n' "User=$ETCD_USER" "Group=$ETCD_GROUP" 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' "ReadWritePaths=$DATA_DIR" 'CapabilityBoundingSet=' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'LimitNOFILE=65536' 'Restart=on-failure' 'RestartSec=5'
}

render_dropin() {
  local key
  printf '# Written by etcd-asg-boot.sh: %s (%s)\n[Unit]\n' "$DECISION" "$REASON"
  render_start_limits
  printf '\n[Service]\n'
  render_service_hardening
  output_keys
  for key in "${OUTPUT_KEYS[@]}"; do
    etcd_value "$key"
    printf 'Environment="%s=%s"\n' "$key" "$VALUE"
  done
}

write_dropin() {
  local tmp=$DROPIN_DIR/.$DROPIN_NAME.tmp
  if ! { { [[ -d $DROPIN_DIR ]] || mkdir -p -- "$DROPIN_DIR"; } && render_dropin >"$tmp" && mv -f -- "$tmp" "$DROPIN_DIR/$DROPIN_NAME"; }; then
    fatal "$EXIT_PREREQUISITE" "cannot write the systemd drop-in $DROPIN_DIR/$DROPIN_NAME"
  fi
  info "wrote $DROPIN_DIR/$DROPIN_NAME"
}

# ---------------------------------------------------------------------------------------------
# etcd: install, start, health, ready

# Installs the pinned etcd release to /usr/local/bin after checking its SHA-256. Skipped by the
# tests (they point ETCD_ASG_ETCD_BIN at an installed etcd).
install_etcd() {
  local version=${ETCD_ASG_ETCD_VERSION:-$PINNED_ETCD_VERSION} arch sha256 base name tools
  base=${ETCD_ASG_ETCD_DOWNLOAD_URL:-https://github.com/etcd-io/etcd/releases/download}
  case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) fatal "$EXIT_PREREQUISITE" "no etcd release for machine type $(uname -m)" ;;
  esac
  sha256=${ETCD_ASG_ETCD_SHA256:-}
  if [[ -z $sha256 && $version == "$PINNED_ETCD_VERSION" && $arch == amd64 ]]; then
    sha256=$PINNED_ETCD_SHA256_AMD64
  fi
  [[ $sha256 =~ ^[0-9a-f]{64}$ ]] ||
    fatal "$EXIT_PREREQUISITE" "set ETCD_ASG_ETCD_SHA256 to the SHA-256 of etcd-v$version-linux-$arch.tar.gz to install it"
  name=etcd-v$version-linux-$arch
  info "installing etcd $version from $base"
  request_timeout 300
  curl -sSfL --max-time "$REQUEST_TIMEOUT" -o "$WORK_DIR/$name.tar.gz" "$base/v$version/$name.tar.gz" ||
    fatal "$EXIT_PREREQUISITE" "cannot download $base/v$version/$name.tar.gz"
  echo "$sha256  $WORK_DIR/$name.tar.gz" | sha256sum -c --status ||
    fatal "$EXIT_PREREQUISITE" "$name.tar.gz does not match SHA-256 $sha256: refusing to install it"
  # etcdutl (3.5 and later) restores snapshots; 3.4 restores with etcdctl.
  tools=("$name/etcd" "$name/etcdctl")
  tar -tzf "$WORK_DIR/$name.tar.gz" "$name/etcdutl" >/dev/null 2>&1 && tools+=("$name/etcdutl")
  if ! { tar -xzf "$WORK_DIR/$name.tar.gz" -C "$WORK_DIR" "${tools[@]}" &&
    install -m 755 "${tools[@]/#/$WORK_DIR/}" /usr/local/bin/; }; then
    fatal "$EXIT_PREREQUISITE" "cannot install etcd to /usr/local/bin"
  fi
  ETCD_BIN=/usr/local/bin/etcd
  install_etcd_unit
}

# A unit for a hand-installed etcd; distribution packages bring their own. Hardened like the drop-in,
# which also hardens a distribution's unit.
install_etcd_unit() {
  local unit=${DROPIN_DIR%/*}/etcd.service
  [[ -e $unit ]] && return
  if ! {
    printf '%s\n' '[Unit]' 'Description=etcd (installed by etcd-asg-boot.sh)' \
      'After=network-online.target' 'Wants=network-online.target'
    render_start_limits
    printf '%s\n' '' '[Service]' 'Type=notify' "ExecStart=$ETCD_BIN"
    render_service_hardening
    printf '%s\n' '' '[Install]' 'WantedBy=multi-user.target'
  } >"$unit"; then
    fatal "$EXIT_PREREQUISITE" "cannot write $unit"
  fi
}

ensure_etcd() {
  ETCD_BIN=${ETCD_ASG_ETCD_BIN:-$(command -v etcd || true)}
  if [[ -n $ETCD_BIN && -x $ETCD_BIN ]]; then
    return
  fi
  [[ -z ${ETCD_ASG_ETCD_BIN:-} ]] || fatal "$EXIT_PREREQUISITE" "ETCD_ASG_ETCD_BIN=$ETCD_ASG_ETCD_BIN is not an executable"
  install_etcd
}

# Sets CHECK_SECONDS, the renewal timer's check interval: a sixth of the time between renew-at and
# expiry, so a failed renewal is tried several times before the certificates expire; at least a
# minute, at most an hour.
renewal_check_seconds() {
  CHECK_SECONDS=$(((NOT_AFTER - RENEW_AT) / 6))
  ((CHECK_SECONDS < 60)) && CHECK_SECONDS=60
  ((CHECK_SECONDS > 3600)) && CHECK_SECONDS=3600
  return 0
}

render_renew_service() {
  local name value
  printf '%s\n' '# Written by etcd-asg-boot.sh' '[Unit]' \
    "Description=etcd-asg: renew this node's etcd certificates once they are due" \
    'After=network-online.target' 'Wants=network-online.target' '' '[Service]' 'Type=oneshot' \
    "ExecStart=$SHELL_PATH $SCRIPT_PATH -o renew"
  # Renewed files belong to the user etcd runs as, as the first ones do. % starts a specifier in a
  # unit file's Environment=, so it is doubled.
  for name in NODE_API_URL IMDS_ENDPOINT PKI_DIR DEADLINE_SECONDS BACKOFF_INITIAL_MS BACKOFF_MAX_MS ETCD_USER_SETTING; do
    value=${!name}
    printf 'Environment="ETCD_ASG_%s=%s"\n' "${name%_SETTING}" "${value//%/%%}"
  done
}

render_renew_timer() {
  local seconds
  renewal_check_seconds
  seconds=$CHECK_SECONDS
  printf '%s\n' '# Written by etcd-asg-boot.sh' '[Unit]' \
    "Description=etcd-asg: check every ${seconds}s whether this node's etcd certificates are due" '' \
    '[Timer]' 'OnActiveSec=60' "OnUnitActiveSec=$seconds" "RandomizedDelaySec=$((seconds / 12))" '' \
    '[Install]' 'WantedBy=timers.target'
}

# write_unit_file NAME RENDER_FUNCTION — atomically, next to etcd.service.
write_unit_file() {
  local dir=${DROPIN_DIR%/*} tmp
  tmp=$dir/.$1.tmp
  if ! { { [[ -d $dir ]] || mkdir -p -- "$dir"; } && "$2" >"$tmp" && mv -f -- "$tmp" "$dir/$1"; }; then
    fatal "$EXIT_PREREQUISITE" "cannot write the systemd unit $dir/$1"
  fi
}

# An initial member told to start after another (validate_start_after) waits until that member's
# etcd answers on its peer port. etcd's check that it is not already a member asks every other
# initial member in turn, 1 s each, and a peer that has bound its port but is still in the same
# check answers nothing: waiting for the member every other asks first turns that second into one
# answer. The wait ends when that member answers anything, when its port has stayed closed for
# ETCD_ASG_START_AFTER_CLOSED_MS (it may boot much later), or when a bound port answers nothing for
# 1 s (what etcd's check would wait for it).
wait_for_first_member() {
  local url=${ANSWER[ETCD_ASG_START_AFTER]:-} closed_ms=${ANSWER[ETCD_ASG_START_AFTER_CLOSED_MS]:-} since rc
  [[ -n $url ]] || return 0
  local poll_ms=$HEALTH_POLL_FIRST_MS
  now_ms
  since=$NOW_MS
  while :; do
    rc=0
    curl -s "${PEER_TLS[@]}" --max-time 1 -o /dev/null "$url/members" || rc=$?
    now_ms
    case $rc in
      7) ;;
      28)
        info "$url did not answer within 1 s: starting etcd"
        return
        ;;
      *)
        info "$url answers after $((NOW_MS - since)) ms: starting etcd"
        return
        ;;
    esac
    if ((NOW_MS - since >= closed_ms)); then
      info "$url still closed after ${closed_ms} ms: starting etcd without it"
      return
    fi
    sleep_ms "$poll_ms"
    poll_ms=$((poll_ms * 2 > HEALTH_POLL_MAX_MS ? HEALTH_POLL_MAX_MS : poll_ms * 2))
  done
}

# Only what etcd's start needs comes before the health wait: the renewal units and each
# `systemctl enable`, which reloads the manager again, are left until etcd is a member (enable_units).
start_etcd() {
  write_dropin
  systemctl daemon-reload || fatal "$EXIT_UNHEALTHY" "systemctl daemon-reload failed"
  wait_for_first_member
  systemctl restart etcd || fatal "$EXIT_UNHEALTHY" "systemctl restart etcd failed: see journalctl -u etcd"
  info "started etcd"
}

# Once the node is a member: etcd enabled, so a reboot restarts it from its data dir without this
# script, and the renewal timer written and started (`enable` reads the new unit files and reloads
# the manager itself). A node that never became a member is abandoned by its lifecycle hook and
# needs neither.
enable_units() {
  write_unit_file "$RENEW_UNIT.service" render_renew_service
  write_unit_file "$RENEW_UNIT.timer" render_renew_timer
  systemctl enable etcd || fatal "$EXIT_UNHEALTHY" "systemctl enable etcd failed"
  systemctl enable --now "$RENEW_UNIT.timer" || fatal "$EXIT_UNHEALTHY" "systemctl enable --now $RENEW_UNIT.timer failed"
}

# etcd is local: it is asked from HEALTH_POLL_FIRST_MS doubling to HEALTH_POLL_MAX_MS, not on the
# node API's backoff. Over TLS, with the node's server certificate as the client certificate (it has
# clientAuth; /health ignores the CN).
wait_until_healthy() {
  local url=${ANSWER[ETCD_ADVERTISE_CLIENT_URLS]%%,*}/health body poll_ms=$HEALTH_POLL_FIRST_MS
  local tls=(--cacert "$PKI_DIR/client-ca.crt" --cert "$PKI_DIR/server.crt" --key "$PKI_DIR/node.key")
  info "waiting for etcd to answer on $url"
  # One process per try: curl writes the answer to a file bash reads, and sleep_ms runs no program.
  while :; do
    request_timeout 5
    body=
    if curl -sS "${tls[@]}" --max-time "$REQUEST_TIMEOUT" -o "$WORK_DIR/health" "$url" 2>/dev/null; then
      body=$(<"$WORK_DIR/health")
      [[ $body == *'"health":"true"'* ]] && break
    fi
    remaining_ms
    ((REMAINING_MS > poll_ms)) || fatal "$EXIT_UNHEALTHY" "etcd did not answer healthy on $url within the ${DEADLINE_SECONDS}s deadline${body:+ (last answer: $body)}: see journalctl -u etcd"
    sleep_ms "$poll_ms"
    poll_ms=$((poll_ms * 2 > HEALTH_POLL_MAX_MS ? HEALTH_POLL_MAX_MS : poll_ms * 2))
  done
  info "etcd is healthy on $url"
}

report_ready() {
  local status
  BACKOFF_MS=$BACKOFF_INITIAL_MS
  while :; do
    node_api POST "/v1/nodes/$INSTANCE_ID/ready"
    case $HTTP_STATUS in
      200 | 202)
        parse_answer ANSWER ETCD_ASG_STATUS ETCD_ASG_REASON
        status=${ANSWER[ETCD_ASG_STATUS]:-}
        if [[ $HTTP_STATUS == 200 && $status == member ]]; then
          info "the node API reports $INSTANCE_ID as a member"
          return
        fi
        [[ $HTTP_STATUS == 202 && $status == waiting ]] ||
          fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: $HTTP_STATUS with ETCD_ASG_STATUS=\"$status\""
        LAST_FAILURE="the learner is still catching up: ${ANSWER[ETCD_ASG_REASON]:-no reason given}"
        info "$LAST_FAILURE"
        ;;
      *) classify_api_failure "the ready report" || warn "$LAST_FAILURE" ;;
    esac
    backoff_or_give_up || fatal "$EXIT_TRANSIENT" "deadline of ${DEADLINE_SECONDS}s passed before the node API confirmed membership: $LAST_FAILURE"
  done
}

# ---------------------------------------------------------------------------------------------

parse_args() {
  MODE=start
  while getopts ':o:h' opt; do
    case $opt in
      o) MODE=$OPTARG ;;
      h)
        usage
        exit 0
        ;;
      :) fatal "$EXIT_USAGE" "-$OPTARG needs a value: flags, env, dropin, start or renew" ;;
      *) fatal "$EXIT_USAGE" "unknown option -$OPTARG (see -h)" ;;
    esac
  done
  shift $((OPTIND - 1))
  (($# == 0)) || fatal "$EXIT_USAGE" "unexpected argument \"$1\" (see -h)"
  case $MODE in
    flags | env | dropin | start | renew) ;;
    *) fatal "$EXIT_USAGE" "unknown output mode \"$MODE\": use flags, env, dropin, start or renew" ;;
  esac
}

require_openssl() {
  command -v openssl >/dev/null || fatal "$EXIT_PREREQUISITE" "openssl is not installed (it makes the node's key and CSR)"
}

# Where the renewal service finds this script and bash again.
locate_self() {
  local paths
  # One readlink for both, a line each.
  paths=$(readlink -f -- "${BASH_SOURCE[0]}" "$BASH")
  SCRIPT_PATH=${paths%%$'\n'*}
  SHELL_PATH=${paths#*$'\n'}
  [[ $SCRIPT_PATH =~ $LOCAL_PATH_PATTERN && $SHELL_PATH =~ $LOCAL_PATH_PATTERN ]] ||
    fatal "$EXIT_PREREQUISITE" "the renewal service cannot run $SHELL_PATH $SCRIPT_PATH: install the script at a path without spaces, quotes or %"
}

main() {
  parse_args "$@"
  read_settings
  command -v curl >/dev/null || fatal "$EXIT_PREREQUISITE" "curl is not installed"
  require_openssl
  WORK_DIR=$(mktemp -d)
  # Where install_pki_files stages the PKI dir's new files: beside them, so a rename puts each in place.
  PKI_STAGING=$PKI_DIR/.incoming.$$
  trap 'rm -rf -- "$WORK_DIR" "$PKI_STAGING"' EXIT
  declare -gA ANSWER=() CERTIFICATES=()
  if [[ $MODE == renew ]]; then
    renew
    return 0
  fi
  [[ $MODE == start ]] && locate_self

  # curl's version and the node's key (on a first boot) while IMDS answers.
  probe_curl_version
  start_node_key
  read_instance_identity
  # The key and CSR before the configuration request, which carries the CSR and is answered with the
  # certificates: one round trip to the control plane fewer before etcd starts.
  ensure_etcd_user
  prepare_pki_dir
  ensure_node_key
  make_csr
  require_curl_with_sigv4
  fetch_config
  info "decision: $DECISION ($REASON)"
  [[ $DECISION == refused ]] &&
    fatal "$EXIT_VERSION_REFUSED" "etcd ${ETCD_ASG_ETCD_VERSION:-$PINNED_ETCD_VERSION} refused, etcd is not started: $REASON"
  choose_data_dir
  # Every mode that names the certificate files makes them: the printed settings work as printed.
  if [[ $DECISION != not-a-member ]]; then
    validate_certificates
    write_certificates
  fi
  check_data_dir
  if [[ $DECISION == not-a-member ]]; then
    info "not a member: etcd is not started on this instance ($REASON)"
    return 0
  fi
  [[ $DATA_DIR_STATE == initialised ]] && info "already initialised: data dir $DATA_DIR belongs to $INSTANCE_ID in cluster ${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]}"
  [[ $MODE == start ]] && ensure_etcd
  restore_snapshot
  prepare_data_dir
  write_marker

  case $MODE in
    flags) render_flags ;;
    env) render_env ;;
    dropin) render_dropin ;;
    start)
      start_etcd
      wait_until_healthy
      report_ready
      enable_units
      ;;
  esac
}

# Source guard: tests load the functions without running main.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
