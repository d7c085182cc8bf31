// A bucket for a control-plane bed's snapshot function: s3rver on 127.0.0.1, reached by the
// runtime's own S3 client (AWS_ENDPOINT_URL_S3). s3rver knows its own access key only and checks no
// signature, so the process's credentials become that key; the bed's other local servers take any.
// Started and stopped with the enclosing suite's before/after hooks.
import { after, before } from "node:test";
import { type LocalS3, S3RVER_ACCESS_KEY, startLocalS3 } from "../../local/s3/server";

process.env.AWS_ACCESS_KEY_ID = S3RVER_ACCESS_KEY;
process.env.AWS_SECRET_ACCESS_KEY = S3RVER_ACCESS_KEY;

/** The environment that points a bed's runtime at the bucket, once the suite has started it. */
export function useControlPlaneBucket(bucket: string): () => Record<string, string> {
  let s3: LocalS3 | undefined;
  before(async () => {
    s3 = await startLocalS3([bucket]);
  });
  after(async () => {
    await s3?.stop();
  });
  return () => {
    if (s3 === undefined) throw new Error("the bucket has not started");
    return { SNAPSHOT_BUCKET: bucket, AWS_ENDPOINT_URL_S3: s3.endpoint };
  };
}
