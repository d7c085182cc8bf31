#!/usr/bin/env bash
# etcd-asg-boot.sh — boots this EC2 instance's etcd member from the configuration the etcd-asg
# control plane published for it. Run from user-data (as root) on Amazon Linux 2023, Ubuntu 22.04+
# or Debian 12. Needs bash 4+, curl 7.75+ (for --aws-sigv4) and coreutils; no jq, no aws CLI.
#
# Usage: etcd-asg-boot.sh [-o flags|env|dropin|start] [-h]
#
#   -o flags   print etcd command-line flags on one line:   etcd $(etcd-asg-boot.sh -o flags)
#   -o env     print ETCD_*="..." lines (a systemd EnvironmentFile or a shell `set -a; .` file)
#   -o dropin  print a systemd drop-in for etcd.service ([Service] Environment=...)
#   -o start   (default) write the drop-in, start etcd with systemctl, wait until it answers on
#              its client URL and report "ready" to the node API
#
# Steps: read the instance ID, private IP, region and role credentials from IMDSv2; GET the
# node's published configuration from the node API (SigV4-signed with the instance role's
# credentials; the API holds a not-yet-published answer up to 10 s; retried with backoff and jitter
# while it is not published yet or on 429/5xx, within one overall deadline); check the existing data
# dir against it (joining an existing cluster, also against etcd's member list on a peer); print or
# apply it (start mode polls the local etcd's health every 100 ms).
#
# Environment:
#   ETCD_ASG_NODE_API_URL      required. Base URL of the node API (a Lambda function URL with IAM
#                              auth), e.g. https://abc.lambda-url.eu-west-1.on.aws
#   ETCD_ASG_IMDS_ENDPOINT     IMDS base URL. Default http://169.254.169.254
#   ETCD_ASG_DATA_DIR          etcd data dir. When set it wins over the published ETCD_DATA_DIR
#                              (the instance knows its disks); else the published one; else
#                              /var/lib/etcd.
#   ETCD_ASG_DEADLINE_SECONDS  overall deadline for the whole run. Default 600
#   ETCD_ASG_BACKOFF_INITIAL_MS  first retry delay in milliseconds. Default 1000
#   ETCD_ASG_BACKOFF_MAX_MS    longest retry delay in milliseconds. Default 20000
#   ETCD_ASG_ETCD_BIN          etcd binary. Default: `etcd` on PATH (start mode installs it when
#                              missing, to /usr/local/bin)
#   ETCD_ASG_ETCD_VERSION      etcd release installed when missing. Default 3.5.6
#   ETCD_ASG_ETCD_SHA256       SHA-256 of etcd-v<version>-linux-<arch>.tar.gz. Default: the pinned
#                              hash of the default version on amd64; required otherwise
#   ETCD_ASG_ETCD_DOWNLOAD_URL release base URL. Default https://github.com/etcd-io/etcd/releases/download
#   ETCD_ASG_DROPIN_DIR        where start mode writes 20-etcd-asg.conf.
#                              Default /etc/systemd/system/etcd.service.d
#
# Exit codes (documented with their causes in README.md):
#   0 etcd started / already initialised / configuration printed / not a member (cluster full;
#     with -o start only once the deadline has passed without a free slot)
#   1 transient failure until the deadline (IMDS or node API unreachable, not yet published, 429, 5xx)
#   2 bad usage or bad environment          3 identity refused (403, no instance role)
#   4 request rejected by the node API (400, 404, 409)   5 malformed answer from the node API or IMDS
#   6 data-dir conflict                      7 etcd did not become healthy in time
#   8 missing prerequisite (curl too old, etcd not installable)
set -euo pipefail

readonly EXIT_TRANSIENT=1
readonly EXIT_USAGE=2
readonly EXIT_IDENTITY_REFUSED=3
readonly EXIT_REQUEST_REJECTED=4
readonly EXIT_MALFORMED_ANSWER=5
readonly EXIT_DATA_DIR_CONFLICT=6
readonly EXIT_UNHEALTHY=7
readonly EXIT_PREREQUISITE=8

readonly DROPIN_NAME=20-etcd-asg.conf
# Seconds the node API may hold a configuration request that is not answered yet (its maximum).
readonly CONFIG_WAIT_SECONDS=10
readonly HEALTH_POLL_MS=100
readonly PINNED_ETCD_VERSION=3.5.6
readonly PINNED_ETCD_SHA256_AMD64=4db32e3bc06dd0999e2171f76a87c1cffed8369475ec7aa7abee9023635670fb
# etcd's own keys, in the order they are printed; ETCD_ASG_* keys describe the decision.
readonly ETCD_KEYS=(ETCD_NAME ETCD_DATA_DIR ETCD_INITIAL_CLUSTER ETCD_INITIAL_CLUSTER_STATE
  ETCD_INITIAL_CLUSTER_TOKEN ETCD_INITIAL_ADVERTISE_PEER_URLS ETCD_LISTEN_PEER_URLS
  ETCD_LISTEN_CLIENT_URLS ETCD_ADVERTISE_CLIENT_URLS)
# One line of an answer: KEY="value", the value free of ", \, $ and backquote.
readonly LINE_PATTERN='^([A-Z][A-Z0-9_]*)="([^"\\$`]*)"$'
# etcd values also go on a command line unquoted (-o flags), so they are plain URL characters.
readonly ETCD_VALUE_PATTERN='^[][A-Za-z0-9._:/,=@%+~-]+$'

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
  BACKOFF_INITIAL_MS=${ETCD_ASG_BACKOFF_INITIAL_MS:-1000}
  BACKOFF_MAX_MS=${ETCD_ASG_BACKOFF_MAX_MS:-20000}
  DROPIN_DIR=${ETCD_ASG_DROPIN_DIR:-/etc/systemd/system/etcd.service.d}

  [[ -n $NODE_API_URL ]] || fatal "$EXIT_USAGE" "ETCD_ASG_NODE_API_URL is not set: set it to the node API's base URL"
  [[ $NODE_API_URL =~ ^https?://[^[:space:]]+$ ]] ||
    fatal "$EXIT_USAGE" "ETCD_ASG_NODE_API_URL must be an http(s) URL, got \"$NODE_API_URL\""
  NODE_API_URL=${NODE_API_URL%/}
  [[ $IMDS_ENDPOINT =~ ^https?://[^[:space:]]+$ ]] ||
    fatal "$EXIT_USAGE" "ETCD_ASG_IMDS_ENDPOINT must be an http(s) URL, got \"$IMDS_ENDPOINT\""
  IMDS_ENDPOINT=${IMDS_ENDPOINT%/}
  require_positive_integer ETCD_ASG_DEADLINE_SECONDS "$DEADLINE_SECONDS"
  require_positive_integer ETCD_ASG_BACKOFF_INITIAL_MS "$BACKOFF_INITIAL_MS"
  require_positive_integer ETCD_ASG_BACKOFF_MAX_MS "$BACKOFF_MAX_MS"
  DEADLINE_MS=$(($(now_ms) + DEADLINE_SECONDS * 1000))
}

require_positive_integer() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || fatal "$EXIT_USAGE" "$1 must be a positive integer, got \"$2\""
}

# --aws-sigv4 arrived in curl 7.75.0.
require_curl_with_sigv4() {
  command -v curl >/dev/null || fatal "$EXIT_PREREQUISITE" "curl is not installed"
  local version major minor
  version=$(curl --version | head -n 1 | cut -d ' ' -f 2)
  IFS=. read -r major minor _ <<<"$version"
  if [[ ! $major =~ ^[0-9]+$ || ! $minor =~ ^[0-9]+$ ]] || ((major < 7 || (major == 7 && minor < 75))); then
    fatal "$EXIT_PREREQUISITE" "curl $version cannot sign AWS requests (--aws-sigv4 needs curl 7.75 or later)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Time, deadline and backoff

now_ms() { date +%s%3N; }

remaining_ms() { echo $((DEADLINE_MS - $(now_ms))); }

# Seconds (at least 1, at most $1) a single request may take before the deadline.
request_timeout() {
  local cap=$1 left
  left=$((($(remaining_ms) + 999) / 1000))
  ((left < 1)) && left=1
  ((left < cap)) && cap=$left
  echo "$cap"
}

# Sleeps for the next backoff step with jitter and doubles BACKOFF_MS; returns 1 when the deadline
# leaves no time for another attempt. Callers set BACKOFF_MS=$BACKOFF_INITIAL_MS before a loop.
backoff_or_give_up() {
  local left delay
  left=$(remaining_ms)
  ((left > 0)) || return 1
  # Equal jitter: half the step fixed, half random, so retrying nodes spread out.
  delay=$((BACKOFF_MS / 2 + RANDOM % (BACKOFF_MS / 2 + 1)))
  ((delay > left)) && delay=$left
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  BACKOFF_MS=$((BACKOFF_MS * 2))
  ((BACKOFF_MS > BACKOFF_MAX_MS)) && BACKOFF_MS=$BACKOFF_MAX_MS
  (($(remaining_ms) > 0))
}

# ---------------------------------------------------------------------------------------------
# IMDSv2

# imds_get PATH — sets IMDS_VALUE; returns 1 on a transient failure, exits on a missing value.
imds_get() {
  local path=$1 status
  if [[ -z ${IMDS_TOKEN:-} ]]; then
    IMDS_TOKEN=$(curl -sS -f --max-time "$(request_timeout 5)" -X PUT \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS_ENDPOINT/latest/api/token" 2>/dev/null) || {
      LAST_FAILURE="IMDS at $IMDS_ENDPOINT did not issue a token"
      IMDS_TOKEN=
      return 1
    }
  fi
  status=$(curl -sS -o "$WORK_DIR/imds-body" -w '%{http_code}' --max-time "$(request_timeout 5)" \
    -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS_ENDPOINT$path" 2>/dev/null) || status=000
  case $status in
    200) IMDS_VALUE=$(<"$WORK_DIR/imds-body") ;;
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
}

# imds_read VAR PATH PATTERN — retries until IMDS answers or the deadline passes.
imds_read() {
  local var=$1 path=$2 pattern=$3
  BACKOFF_MS=$BACKOFF_INITIAL_MS
  until imds_get "$path"; do
    backoff_or_give_up || fatal "$EXIT_TRANSIENT" "deadline of ${DEADLINE_SECONDS}s passed: $LAST_FAILURE"
  done
  [[ $IMDS_VALUE =~ $pattern ]] || fatal "$EXIT_MALFORMED_ANSWER" "IMDS answered \"${IMDS_VALUE:0:120}\" for $path, which is not a valid value"
  printf -v "$var" '%s' "$IMDS_VALUE"
}

read_instance_identity() {
  imds_read INSTANCE_ID /latest/meta-data/instance-id '^i-[0-9a-f]+$'
  imds_read PRIVATE_IP /latest/meta-data/local-ipv4 '^[0-9]{1,3}(\.[0-9]{1,3}){3}$'
  imds_read REGION /latest/meta-data/placement/region '^[a-z]{2}(-[a-z]+)+-[0-9]+$'
  info "instance $INSTANCE_ID, private IP $PRIVATE_IP, region $REGION"
}

# json_string_field JSON KEY — the string value of a top-level "KEY": "value" pair.
json_string_field() {
  local pattern="\"$2\"[[:space:]]*:[[:space:]]*\"([^\"]*)\""
  [[ $1 =~ $pattern ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# Reads the role's temporary credentials; called before every signed request because they rotate.
read_role_credentials() {
  local role document code
  imds_read role /latest/meta-data/iam/security-credentials/ '^[A-Za-z0-9+=,.@_-]+$'
  imds_read document "/latest/meta-data/iam/security-credentials/$role" '.'
  code=$(json_string_field "$document" Code) || code=
  [[ $code == Success ]] || fatal "$EXIT_IDENTITY_REFUSED" "IMDS credentials for role $role are not usable (Code \"$code\")"
  ACCESS_KEY_ID=$(json_string_field "$document" AccessKeyId) || ACCESS_KEY_ID=
  SECRET_ACCESS_KEY=$(json_string_field "$document" SecretAccessKey) || SECRET_ACCESS_KEY=
  SESSION_TOKEN=$(json_string_field "$document" Token) || SESSION_TOKEN=
  [[ $ACCESS_KEY_ID =~ ^[A-Z0-9]+$ && $SECRET_ACCESS_KEY =~ ^[A-Za-z0-9+/=]+$ && $SESSION_TOKEN =~ ^[A-Za-z0-9+/=_-]+$ ]] ||
    fatal "$EXIT_MALFORMED_ANSWER" "IMDS credentials document for role $role lacks AccessKeyId, SecretAccessKey or Token"
}

# ---------------------------------------------------------------------------------------------
# Node API

# node_api METHOD PATH — one SigV4-signed request; sets HTTP_STATUS (000 when unreachable) and
# writes the body to $WORK_DIR/api-body.
node_api() {
  local method=$1 path=$2 body=()
  read_role_credentials
  [[ $method == POST ]] && body=(--data-binary '')
  # Secrets go through a curl config on stdin so they never show in the process list.
  HTTP_STATUS=$(curl -sS -K - -X "$method" "${body[@]}" -o "$WORK_DIR/api-body" -w '%{http_code}' \
    --connect-timeout 5 --max-time "$(request_timeout 30)" --aws-sigv4 "aws:amz:$REGION:lambda" \
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

# parse_answer ALLOWED_KEY... — parses the node API's last answer into ANSWER or exits.
parse_answer() {
  parse_lines "$WORK_DIR/api-body" ANSWER "$@" ||
    fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API ($HTTP_STATUS), $PARSE_ERROR"
}

fetch_config() {
  local standby_query=
  [[ $MODE == start ]] && standby_query='&standby=1'
  info "asking the node API for the configuration of $INSTANCE_ID"
  BACKOFF_MS=$BACKOFF_INITIAL_MS
  while :; do
    # wait: the node API holds a "not published yet" answer until the ledger moves (long polling);
    # standby (start mode): it holds a "not a member" answer too, while this node stands by.
    # Parameters in sorted order: curl signs the query as written, SigV4 verifies it sorted.
    node_api GET "/v1/nodes/$INSTANCE_ID/config?format=env${standby_query}&wait=$CONFIG_WAIT_SECONDS"
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
        parse_answer ETCD_ASG_DECISION ETCD_ASG_REASON
        [[ ${ANSWER[ETCD_ASG_DECISION]:-} == wait ]] ||
          fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: 202 without ETCD_ASG_DECISION=\"wait\""
        LAST_FAILURE="the configuration is not published yet: ${ANSWER[ETCD_ASG_REASON]:-no reason given}"
        info "$LAST_FAILURE"
        ;;
      *) classify_api_failure "the configuration request" || warn "$LAST_FAILURE" ;;
    esac
    backoff_or_give_up || fatal "$EXIT_TRANSIENT" "deadline of ${DEADLINE_SECONDS}s passed: $LAST_FAILURE"
  done
  parse_answer ETCD_ASG_DECISION ETCD_ASG_REASON "${ETCD_KEYS[@]}"
  validate_config
}

# True (and logged) when the last 200 answer says not-a-member: the caller polls again.
standing_by() {
  parse_answer ETCD_ASG_DECISION ETCD_ASG_REASON "${ETCD_KEYS[@]}"
  [[ ${ANSWER[ETCD_ASG_DECISION]:-} == not-a-member ]] || return 1
  info "not a member for now, standing by for a free slot until the deadline: ${ANSWER[ETCD_ASG_REASON]:-no reason given}"
}

# Checks the answer as a whole; the published name and peer URL must be this instance's.
validate_config() {
  local decision=${ANSWER[ETCD_ASG_DECISION]:-} key peer_url
  DECISION=$decision
  REASON=${ANSWER[ETCD_ASG_REASON]:-}
  [[ -n $REASON ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: ETCD_ASG_REASON is missing"
  case $decision in
    not-a-member)
      for key in "${ETCD_KEYS[@]}"; do
        [[ -z ${ANSWER[$key]+set} ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: not-a-member must not carry $key"
      done
      return
      ;;
    member | learner) ;;
    *) fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: ETCD_ASG_DECISION is \"$decision\", expected member, learner or not-a-member" ;;
  esac
  for key in "${ETCD_KEYS[@]}"; do
    [[ -n ${ANSWER[$key]:-} ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: $key is missing for a $decision"
    [[ ${ANSWER[$key]} =~ $ETCD_VALUE_PATTERN ]] || fatal "$EXIT_MALFORMED_ANSWER" "malformed answer from the node API: $key has characters etcd flags cannot carry: ${ANSWER[$key]}"
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
}

# ---------------------------------------------------------------------------------------------
# Data dir

choose_data_dir() {
  DATA_DIR=${ETCD_ASG_DATA_DIR:-${ANSWER[ETCD_DATA_DIR]:-/var/lib/etcd}}
  DATA_DIR=${DATA_DIR%/}
  [[ $DATA_DIR == /* ]] || fatal "$EXIT_USAGE" "the data dir must be an absolute path, got \"$DATA_DIR\""
  MARKER=$DATA_DIR.etcd-asg
  [[ ! -e $DATA_DIR || -d $DATA_DIR ]] || fatal "$EXIT_DATA_DIR_CONFLICT" "data dir $DATA_DIR exists and is not a directory"
}

data_dir_is_empty() {
  [[ ! -d $DATA_DIR ]] || [[ -z $(ls -A "$DATA_DIR") ]]
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
# answers (TLS peers, all down): the data dir is then kept, as the marker says.
member_started_in_cluster() {
  local entry url body started="\"name\"[[:space:]]*:[[:space:]]*\"$INSTANCE_ID\""
  local -a entries
  IFS=, read -r -a entries <<<"${ANSWER[ETCD_INITIAL_CLUSTER]}"
  for entry in "${entries[@]}"; do
    url=${entry#*=}
    [[ ,${ANSWER[ETCD_INITIAL_ADVERTISE_PEER_URLS]}, == *",$url,"* ]] && continue
    body=$(curl -sS -f --connect-timeout 2 --max-time "$(request_timeout 5)" "$url/members" 2>/dev/null) || continue
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

# Records which cluster and member the data dir is initialised for, next to it (etcd owns the
# inside). Written before etcd starts, so a data dir etcd fills is never without a marker.
write_marker() {
  local tmp=$MARKER.tmp
  if ! mkdir -p -- "${DATA_DIR%/*}" || ! printf 'ETCD_INITIAL_CLUSTER_TOKEN="%s"\nETCD_NAME="%s"\n' \
    "${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]}" "${ANSWER[ETCD_NAME]}" >"$tmp" || ! mv -f -- "$tmp" "$MARKER"; then
    fatal "$EXIT_DATA_DIR_CONFLICT" "cannot write marker $MARKER"
  fi
}

# ---------------------------------------------------------------------------------------------
# Output

etcd_value() {
  if [[ $1 == ETCD_DATA_DIR ]]; then printf '%s' "$DATA_DIR"; else printf '%s' "${ANSWER[$1]}"; fi
}

render_flags() {
  local key flag out=()
  for key in "${ETCD_KEYS[@]}"; do
    flag=${key#ETCD_}
    flag=${flag,,}
    out+=("--${flag//_/-}=$(etcd_value "$key")")
  done
  printf '%s\n' "${out[*]}"
}

render_env() {
  local key
  printf '# etcd-asg: %s (%s)\n' "$DECISION" "$REASON"
  for key in "${ETCD_KEYS[@]}"; do printf '%s="%s"\n' "$key" "$(etcd_value "$key")"; done
}

render_dropin() {
  local key
  printf '# Written by etcd-asg-boot.sh: %s (%s)\n[Service]\n' "$DECISION" "$REASON"
  for key in "${ETCD_KEYS[@]}"; do printf 'Environment="%s=%s"\n' "$key" "$(etcd_value "$key")"; done
}

write_dropin() {
  local tmp=$DROPIN_DIR/.$DROPIN_NAME.tmp
  if ! { mkdir -p -- "$DROPIN_DIR" && render_dropin >"$tmp" && mv -f -- "$tmp" "$DROPIN_DIR/$DROPIN_NAME"; }; then
    fatal "$EXIT_PREREQUISITE" "cannot write the systemd drop-in $DROPIN_DIR/$DROPIN_NAME"
  fi
  info "wrote $DROPIN_DIR/$DROPIN_NAME"
}

# ---------------------------------------------------------------------------------------------
# etcd: install, start, health, ready

# Installs the pinned etcd release to /usr/local/bin after checking its SHA-256. Skipped by the
# tests (they point ETCD_ASG_ETCD_BIN at an installed etcd).
install_etcd() {
  local version=${ETCD_ASG_ETCD_VERSION:-$PINNED_ETCD_VERSION} arch sha256 base name
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
  curl -sSfL --max-time "$(request_timeout 300)" -o "$WORK_DIR/$name.tar.gz" "$base/v$version/$name.tar.gz" ||
    fatal "$EXIT_PREREQUISITE" "cannot download $base/v$version/$name.tar.gz"
  echo "$sha256  $WORK_DIR/$name.tar.gz" | sha256sum -c --status ||
    fatal "$EXIT_PREREQUISITE" "$name.tar.gz does not match SHA-256 $sha256: refusing to install it"
  if ! { tar -xzf "$WORK_DIR/$name.tar.gz" -C "$WORK_DIR" "$name/etcd" "$name/etcdctl" &&
    install -m 755 "$WORK_DIR/$name/etcd" "$WORK_DIR/$name/etcdctl" /usr/local/bin/; }; then
    fatal "$EXIT_PREREQUISITE" "cannot install etcd to /usr/local/bin"
  fi
  ETCD_BIN=/usr/local/bin/etcd
  install_etcd_unit
}

# A plain unit for a hand-installed etcd; distribution packages bring their own.
install_etcd_unit() {
  local unit=${DROPIN_DIR%/*}/etcd.service
  [[ -e $unit ]] && return
  printf '%s\n' '[Unit]' 'Description=etcd (installed by etcd-asg-boot.sh)' \
    'After=network-online.target' 'Wants=network-online.target' '' '[Service]' 'Type=notify' \
    "ExecStart=$ETCD_BIN" 'Restart=on-failure' 'RestartSec=5' 'LimitNOFILE=65536' '' \
    '[Install]' 'WantedBy=multi-user.target' >"$unit" || fatal "$EXIT_PREREQUISITE" "cannot write $unit"
}

ensure_etcd() {
  ETCD_BIN=${ETCD_ASG_ETCD_BIN:-$(command -v etcd || true)}
  if [[ -n $ETCD_BIN && -x $ETCD_BIN ]]; then
    return
  fi
  [[ -z ${ETCD_ASG_ETCD_BIN:-} ]] || fatal "$EXIT_PREREQUISITE" "ETCD_ASG_ETCD_BIN=$ETCD_ASG_ETCD_BIN is not an executable"
  install_etcd
}

start_etcd() {
  write_dropin
  systemctl daemon-reload || fatal "$EXIT_UNHEALTHY" "systemctl daemon-reload failed"
  # Enabled so a reboot restarts etcd from its data dir without this script.
  systemctl enable etcd || fatal "$EXIT_UNHEALTHY" "systemctl enable etcd failed"
  systemctl restart etcd || fatal "$EXIT_UNHEALTHY" "systemctl restart etcd failed: see journalctl -u etcd"
  info "started etcd"
}

# etcd is local: it is asked every HEALTH_POLL_MS, not on the node API's backoff.
wait_until_healthy() {
  local url=${ANSWER[ETCD_ADVERTISE_CLIENT_URLS]%%,*}/health body
  info "waiting for etcd to answer on $url"
  until body=$(curl -sS --max-time "$(request_timeout 5)" "$url" 2>/dev/null) && [[ $body == *'"health":"true"'* ]]; do
    (($(remaining_ms) > HEALTH_POLL_MS)) || fatal "$EXIT_UNHEALTHY" "etcd did not answer healthy on $url within the ${DEADLINE_SECONDS}s deadline${body:+ (last answer: $body)}: see journalctl -u etcd"
    sleep "0.$(printf '%03d' "$HEALTH_POLL_MS")"
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
        parse_answer ETCD_ASG_STATUS ETCD_ASG_REASON
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
      :) fatal "$EXIT_USAGE" "-$OPTARG needs a value: flags, env, dropin or start" ;;
      *) fatal "$EXIT_USAGE" "unknown option -$OPTARG (see -h)" ;;
    esac
  done
  shift $((OPTIND - 1))
  (($# == 0)) || fatal "$EXIT_USAGE" "unexpected argument \"$1\" (see -h)"
  case $MODE in
    flags | env | dropin | start) ;;
    *) fatal "$EXIT_USAGE" "unknown output mode \"$MODE\": use flags, env, dropin or start" ;;
  esac
}

main() {
  parse_args "$@"
  read_settings
  require_curl_with_sigv4
  WORK_DIR=$(mktemp -d)
  trap 'rm -rf -- "$WORK_DIR"' EXIT
  declare -gA ANSWER=()

  read_instance_identity
  fetch_config
  info "decision: $DECISION ($REASON)"
  choose_data_dir
  check_data_dir
  if [[ $DECISION == not-a-member ]]; then
    info "not a member: etcd is not started on this instance ($REASON)"
    return 0
  fi
  [[ $DATA_DIR_STATE == initialised ]] && info "already initialised: data dir $DATA_DIR belongs to $INSTANCE_ID in cluster ${ANSWER[ETCD_INITIAL_CLUSTER_TOKEN]}"
  [[ $MODE == start ]] && ensure_etcd
  write_marker

  case $MODE in
    flags) render_flags ;;
    env) render_env ;;
    dropin) render_dropin ;;
    start)
      start_etcd
      wait_until_healthy
      report_ready
      ;;
  esac
}

# Source guard: tests load the functions without running main.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
