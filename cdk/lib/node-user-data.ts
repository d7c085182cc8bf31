// The nodes' user data: node-user-data.sh with the stack's parameters filled in. The boot script is
// not inlined: it is a CDK file asset the node fetches with its role (SigV4) and checks against the
// SHA-256 pinned in the user data, so the user data stays far below EC2's 16 KB limit however large
// the boot script grows, and the launch template changes whenever the boot script does.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as s3assets from "aws-cdk-lib/aws-s3-assets";
import { EtcdClusterPropsError } from "./etcd-cluster-props";
import { PACKAGE_ROOT } from "./package-root";

/** The device name the data volume is attached as; the launch template uses the same one. */
export const DATA_VOLUME_DEVICE = "/dev/sdf";

/** EC2 rejects user data over 16 KB (before base64). */
const USER_DATA_LIMIT_BYTES = 16 * 1024;

// Beside this file's source; the package ships the source's copy (compiled code lives in dist/pkg/).
const TEMPLATE = path.join(PACKAGE_ROOT, "cdk", "lib", "node-user-data.sh");

export interface NodeUserDataOptions {
  /** The boot script, published as a file asset. */
  readonly bootScript: s3assets.Asset;
  /** Its local path, to pin its SHA-256. */
  readonly bootScriptPath: string;
  /** The node API's function URL (a token until deploy). */
  readonly nodeApiUrl: string;
  readonly etcdVersion: string;
  readonly etcdSha256: string;
}

export function nodeUserData(options: NodeUserDataOptions): ec2.UserData {
  const values: Record<string, string> = {
    NODE_API_URL: options.nodeApiUrl,
    ETCD_VERSION: options.etcdVersion,
    ETCD_SHA256: options.etcdSha256,
    BOOT_SCRIPT_BUCKET: options.bootScript.s3BucketName,
    BOOT_SCRIPT_KEY: options.bootScript.s3ObjectKey,
    BOOT_SCRIPT_SHA256: createHash("sha256").update(readFileSync(options.bootScriptPath)).digest("hex"),
    DATA_DEVICE: DATA_VOLUME_DEVICE,
  };
  const script = readFileSync(TEMPLATE, "utf8").replace(/@([A-Z0-9_]+)@/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new EtcdClusterPropsError(`${TEMPLATE} has an unknown placeholder ${placeholder}`);
    return value;
  });
  const userData = ec2.UserData.custom(script);
  // Tokens (the URL, the asset's bucket and key) are a few dozen characters at synth; 400 bytes covers
  // what they resolve to.
  const size = Buffer.byteLength(userData.render(), "utf8") + 400;
  if (size > USER_DATA_LIMIT_BYTES) {
    throw new EtcdClusterPropsError(
      `the user data would be about ${size} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte limit: shrink ${TEMPLATE}`,
    );
  }
  return userData;
}
