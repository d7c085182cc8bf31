// The nodes' user data: mount the etcd data volume at /var/lib/etcd (formatting it only when blank),
// install the boot script from the repository, and run it with the node API's URL.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { EtcdClusterPropsError } from "./etcd-cluster-props";

/** The device name the data volume is attached as; the launch template uses the same one. */
export const DATA_VOLUME_DEVICE = "/dev/sdf";

/** EC2 rejects user data over 16 KB (before base64); the boot script is most of it. */
const USER_DATA_LIMIT_BYTES = 16 * 1024;

export interface NodeUserDataOptions {
  readonly bootScriptPath: string;
  /** The node API's function URL (a token until deploy). */
  readonly nodeApiUrl: string;
  readonly etcdVersion: string;
  readonly etcdSha256: string;
}

export function nodeUserData(options: NodeUserDataOptions): ec2.UserData {
  // The boot script is larger than EC2's user-data limit as text; gzip and base64 bring it to about
  // a third. For one input and one zlib the output is the same, so the template changes with the script.
  const script = gzipSync(readFileSync(options.bootScriptPath), { level: 9 }).toString("base64");
  const userData = ec2.UserData.forLinux();
  userData.addCommands(
    "set -euo pipefail",
    mountDataVolume(),
    "base64 -d <<'ETCD_ASG_BOOT_SCRIPT' | gunzip > /usr/local/sbin/etcd-asg-boot",
    ...(script.match(/.{1,76}/g) ?? []),
    "ETCD_ASG_BOOT_SCRIPT",
    "chmod 755 /usr/local/sbin/etcd-asg-boot",
    `ETCD_ASG_NODE_API_URL=${options.nodeApiUrl} ETCD_ASG_ETCD_VERSION=${options.etcdVersion} ` +
      `ETCD_ASG_ETCD_SHA256=${options.etcdSha256} /usr/local/sbin/etcd-asg-boot -o start`,
  );
  // The URL is a token of a few dozen characters at synth; 200 bytes covers what it resolves to.
  const size = Buffer.byteLength(userData.render(), "utf8") + 200;
  if (size > USER_DATA_LIMIT_BYTES) {
    throw new EtcdClusterPropsError(
      `the user data would be about ${size} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte limit: ` +
        `shrink the boot script at ${options.bootScriptPath}`,
    );
  }
  return userData;
}

// On Nitro instances the volume appears as an NVMe device; Amazon Linux's udev rules link it to the
// name in the block device mapping (/dev/sdf, or /dev/xvdf on Xen). A volume with a file system is
// never reformatted: a rebooted node keeps its etcd data. XFS, because ext4's lost+found would make
// the data dir look non-empty to etcd and to the boot script.
function mountDataVolume(): string {
  return `
data_device=""
for _ in $(seq 1 120); do
  for candidate in ${DATA_VOLUME_DEVICE} /dev/xvdf; do
    if [ -e "$candidate" ]; then data_device=$(readlink -f "$candidate"); break 2; fi
  done
  sleep 1
done
if [ -z "$data_device" ]; then echo "etcd data volume ${DATA_VOLUME_DEVICE} did not appear within 120 s" >&2; exit 1; fi
if ! blkid "$data_device" >/dev/null 2>&1; then mkfs.xfs -q -L etcd-data "$data_device"; fi
mkdir -p /var/lib/etcd
data_uuid=$(blkid -s UUID -o value "$data_device")
grep -q "UUID=$data_uuid" /etc/fstab || echo "UUID=$data_uuid /var/lib/etcd xfs defaults,noatime,nofail 0 2" >> /etc/fstab
mountpoint -q /var/lib/etcd || mount /var/lib/etcd`.trim();
}
