#!/bin/bash
# etcd-asg node user data (filled in at synth by node-user-data.ts). Mounts the etcd data volume,
# fetches the boot script — a CDK file asset in the stack's asset bucket, readable by the node role —
# checks it against the SHA-256 pinned here, and runs it with the stack's parameters. Everything else
# lives in the boot script, so the user data stays small under EC2's 16 KB limit whatever the boot
# script grows to, and a changed boot script changes the launch template (and rolls the nodes).
#
# Sourced rather than run, it only sets its parameters and defines its functions: the local
# simulator sources it and calls fetch_boot_script itself, where a real machine would also mount.
# Honours ETCD_ASG_IMDS_ENDPOINT (IMDS base URL) and AWS_ENDPOINT_URL_S3 (an S3-compatible endpoint,
# path-style) the way the boot script and the AWS SDKs do.
set -euo pipefail

export ETCD_ASG_NODE_API_URL='@NODE_API_URL@'
export ETCD_ASG_ETCD_VERSION='@ETCD_VERSION@'
export ETCD_ASG_ETCD_SHA256='@ETCD_SHA256@'
BOOT_SCRIPT_BUCKET='@BOOT_SCRIPT_BUCKET@'
BOOT_SCRIPT_KEY='@BOOT_SCRIPT_KEY@'
BOOT_SCRIPT_SHA256='@BOOT_SCRIPT_SHA256@'
DATA_DEVICE='@DATA_DEVICE@'
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
# IMDS's base URL: EC2's, or the simulator's stand-in.
IMDS_ENDPOINT=${ETCD_ASG_IMDS_ENDPOINT:-http://169.254.169.254}
# How long the boot script may be unreachable (IMDS or S3 not ready yet) before the node gives up.
FETCH_DEADLINE_SECONDS=600

fail() {
  echo "etcd-asg user data: $*" >&2
  exit 1
}

# On Nitro instances the volume appears as an NVMe device; Amazon Linux's udev rules link it to the
# name in the block device mapping (/dev/sdf, or /dev/xvdf on Xen). A volume with a file system is
# never reformatted: a rebooted node keeps its etcd data. XFS, because ext4's lost+found would make
# the data dir look non-empty to etcd and to the boot script.
mount_data_volume() {
  local device="" candidate uuid
  for _ in $(seq 1 120); do
    for candidate in "$DATA_DEVICE" /dev/xvdf; do
      if [[ -e $candidate ]]; then
        device=$(readlink -f "$candidate")
        break 2
      fi
    done
    sleep 1
  done
  [[ -n $device ]] || fail "etcd data volume $DATA_DEVICE did not appear within 120 s"
  blkid "$device" >/dev/null 2>&1 || mkfs.xfs -q -L etcd-data "$device"
  mkdir -p /var/lib/etcd
  uuid=$(blkid -s UUID -o value "$device")
  grep -q "UUID=$uuid" /etc/fstab || echo "UUID=$uuid /var/lib/etcd xfs defaults,noatime,nofail 0 2" >>/etc/fstab
  mountpoint -q /var/lib/etcd || mount /var/lib/etcd
}

# imds_token — a token for imds, good for six hours as the boot script's own (it is handed over).
imds_token() {
  curl -sSf --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS_ENDPOINT/latest/api/token"
}

# imds TOKEN PATH... — IMDSv2 reads of every PATH in one curl (a transfer each, on one connection),
# each answer followed by a newline; fails on the first that fails.
imds() {
  local token=$1 urls=() path
  shift
  for path; do urls+=("$IMDS_ENDPOINT$path"); done
  curl -sSf --fail-early --max-time 5 -w '\n' -H "X-aws-ec2-metadata-token: $token" "${urls[@]}"
}

# json_field VAR KEY JSON — sets VAR to the string value of "KEY": "value"; fails when there is none.
json_field() {
  local pattern="\"$2\"[[:space:]]*:[[:space:]]*\"([^\"]+)\""
  [[ $3 =~ $pattern ]] && printf -v "$1" '%s' "${BASH_REMATCH[1]}"
}

# download_boot_script FILE — one SigV4-signed GET of the asset with the instance role's credentials,
# read from IMDS in three requests: a token, the region and the role's name, the role's credentials.
# The token and the credentials are kept (IMDS_SESSION, ROLE_CREDENTIALS) for run_boot_script.
download_boot_script() {
  local answers region role key secret token url
  IMDS_SESSION=$(imds_token) &&
    answers=$(imds "$IMDS_SESSION" /latest/meta-data/placement/region /latest/meta-data/iam/security-credentials/) &&
    region=${answers%%$'\n'*} role=${answers#*$'\n'} &&
    [[ -n $region && -n $role && $role != *$'\n'* ]] &&
    ROLE_CREDENTIALS=$(imds "$IMDS_SESSION" "/latest/meta-data/iam/security-credentials/$role") &&
    json_field key AccessKeyId "$ROLE_CREDENTIALS" &&
    json_field secret SecretAccessKey "$ROLE_CREDENTIALS" &&
    json_field token Token "$ROLE_CREDENTIALS" || return 1
  if [[ -n ${AWS_ENDPOINT_URL_S3:-} ]]; then
    url=${AWS_ENDPOINT_URL_S3%/}/$BOOT_SCRIPT_BUCKET/$BOOT_SCRIPT_KEY
  else
    url=https://$BOOT_SCRIPT_BUCKET.s3.$region.amazonaws.com/$BOOT_SCRIPT_KEY
  fi
  # Secrets go through a curl config on stdin so they never show in the process list. S3 wants the
  # payload's hash in a signed header; a GET's payload is empty.
  curl -sSf --max-time 60 --aws-sigv4 "aws:amz:$region:s3" -K - -o "$1" "$url" <<CURL_CONFIG
user = "$key:$secret"
header = "x-amz-security-token: $token"
header = "x-amz-content-sha256: $EMPTY_SHA256"
CURL_CONFIG
}

# fetch_boot_script TARGET — downloads the boot script, retrying with backoff until the deadline, and
# installs it at TARGET once its SHA-256 is the pinned one.
fetch_boot_script() {
  local target=$1 tmp delay=1 deadline=$((SECONDS + FETCH_DEADLINE_SECONDS))
  tmp=$(mktemp)
  until download_boot_script "$tmp"; do
    ((SECONDS < deadline)) || fail "could not fetch s3://$BOOT_SCRIPT_BUCKET/$BOOT_SCRIPT_KEY within ${FETCH_DEADLINE_SECONDS} s"
    sleep "$delay"
    ((delay < 16)) && delay=$((delay * 2))
  done
  echo "$BOOT_SCRIPT_SHA256  $tmp" | sha256sum -c --status ||
    fail "s3://$BOOT_SCRIPT_BUCKET/$BOOT_SCRIPT_KEY is not the boot script this launch template pins (SHA-256 $BOOT_SCRIPT_SHA256)"
  install -m 755 "$tmp" "$target"
  rm -f "$tmp"
}

# run_boot_script PATH — runs the boot script in start mode with the IMDS token and the role's
# credentials just read, so that it does not ask IMDS for them again before etcd starts (two requests
# on the node's critical path); it reads the credentials again a minute later, as it always does.
run_boot_script() {
  ETCD_ASG_IMDS_TOKEN=$IMDS_SESSION ETCD_ASG_ROLE_CREDENTIALS=$ROLE_CREDENTIALS exec "$1" -o start
}

main() {
  mount_data_volume
  fetch_boot_script /usr/local/sbin/etcd-asg-boot
  run_boot_script /usr/local/sbin/etcd-asg-boot
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main
fi
