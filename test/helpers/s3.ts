// The snapshot bucket as the simulator serves it: s3rver on 127.0.0.1 behind the IAM gate proxy,
// which verifies each request's SigV4 signature and the caller's policies and forwards what is
// allowed. The snapshot role gets exactly the S3 actions the snapshot function needs, on its
// cluster's prefix; every request the gate let through is recorded as "<method> <path?query>" so
// that a test can see what was sent (an abort, no completion). Started and stopped with the
// enclosing suite's before/after hooks.
import { after, before } from "node:test";
import { S3Client } from "@aws-sdk/client-s3";
import { CredentialStore, type Credentials } from "../../local/iam/credentials";
import { createGate } from "../../local/iam/gate";
import { type GateProxy, startGateProxy, withoutSignature } from "../../local/iam/gate-proxy";
import { administrator, PolicySet } from "../../local/iam/policies";
import { s3Front } from "../../local/iam/s3";
import { type LocalS3, startLocalS3 } from "../../local/s3/server";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
export const SNAPSHOT_BUCKET = "etcd-asg-snapshots";
export const SNAPSHOT_ROLE = `arn:aws:iam::${ACCOUNT}:role/EtcdAsg-SnapshotRole`;

/** What the snapshot function's role is allowed, as the stack should grant it (issue 15). */
export const SNAPSHOT_ROLE_ACTIONS = {
  objects: [
    "s3:PutObject",
    "s3:GetObject",
    "s3:AbortMultipartUpload",
    "s3:PutObjectTagging",
    "s3:GetObjectTagging",
    "s3:DeleteObject",
  ],
  bucket: ["s3:ListBucket"],
} as const;

export interface LocalSnapshotBucket {
  /** The gate proxy's endpoint, for an S3 client's `endpoint`. */
  endpoint(): string;
  /** An S3 client that signs as the snapshot role (session `snapshot`), closed at the end. */
  snapshotClient(): S3Client;
  /** Fresh session credentials of the snapshot role, for a client in another process. */
  snapshotCredentials(): Credentials;
  /** An S3 client signing as the operator (an administrator). */
  operatorClient(): S3Client;
  /** "<HTTP method> <path?query>" of each request the gate let through, in order. */
  readonly allowed: string[];
}

/** The role may act on objects under `prefix` (e.g. the cluster name and a slash) only. */
export function useLocalSnapshotBucket(prefix: string): LocalSnapshotBucket {
  let s3rver: LocalS3 | undefined;
  let proxy: GateProxy | undefined;
  const clients: S3Client[] = [];
  const allowed: string[] = [];
  const credentials = new CredentialStore({ account: ACCOUNT });
  const policies = new PolicySet({
    roles: [
      {
        roleArn: SNAPSHOT_ROLE,
        policies: [
          {
            name: "Snapshots",
            document: {
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Allow",
                  Action: [...SNAPSHOT_ROLE_ACTIONS.objects],
                  Resource: `arn:aws:s3:::${SNAPSHOT_BUCKET}/${prefix}*`,
                },
                {
                  Effect: "Allow",
                  Action: [...SNAPSHOT_ROLE_ACTIONS.bucket],
                  Resource: `arn:aws:s3:::${SNAPSHOT_BUCKET}`,
                  Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } },
                },
              ],
            },
          },
        ],
      },
    ],
    users: [administrator(credentials.operator.principal.arn)],
  });

  before(async () => {
    s3rver = await startLocalS3([SNAPSHOT_BUCKET]);
    const gate = createGate({ callers: credentials, policies });
    proxy = await startGateProxy({
      gate: async (request, front) => {
        const verdict = await gate(request, front);
        if (verdict.ok) allowed.push(`${request.method} ${request.url}`);
        return verdict;
      },
      front: s3Front({ region: REGION, account: ACCOUNT }),
      upstream: s3rver.endpoint,
      forward: withoutSignature,
    });
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await proxy?.stop();
    await s3rver?.stop();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the local snapshot bucket has not started");
    return value;
  };
  const clientAs = (identity: Credentials) => {
    const client = new S3Client({
      endpoint: started(proxy).endpoint,
      region: REGION,
      credentials: identity,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };
  return {
    endpoint: () => started(proxy).endpoint,
    snapshotClient: () => clientAs(credentials.assumeRole(SNAPSHOT_ROLE, "snapshot")),
    snapshotCredentials: () => credentials.assumeRole(SNAPSHOT_ROLE, "snapshot"),
    operatorClient: () => clientAs(credentials.operator.credentials),
    allowed,
  };
}
