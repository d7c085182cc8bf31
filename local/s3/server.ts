// Starts and stops an S3-compatible server (s3rver) on 127.0.0.1 for the simulator and the tests,
// storing objects in a temporary folder that is removed on stop. s3rver checks no SigV4 signature
// (it only looks the access key up in its own registry), so callers put the simulator's IAM gate in
// front of it, which verifies the signature and the caller's policies and then forwards the request
// as s3rver's own user.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`, path-style. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** The access key s3rver knows; the gate presents it upstream once it has checked the caller. */
export const S3RVER_ACCESS_KEY = "S3RVER";

export async function startLocalS3(buckets: readonly string[] = []): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), "etcd-asg-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  let address: { port: number };
  try {
    address = await server.run();
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await server.close().catch(() => undefined);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
