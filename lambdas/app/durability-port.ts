// Snapshots and recovery's port (app/ports.ts DurabilityPort): the ledger's durability records, the
// health sightings, the snapshot bucket and the snapshot function. Kept out of the shared runtime so
// that the functions which never take a snapshot do not carry the S3 and Lambda clients.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DurabilityLedger } from "../adapters/ledger/durability";
import type { LedgerOptions } from "../adapters/ledger/ledger";
import { MemberHealthLedger } from "../adapters/ledger/member-health";
import type { SnapshotStore } from "../adapters/snapshots";
import { ConfigError } from "../config";
import { EtcdAsgError } from "../errors";
import type { DurabilityPort, Runtime, SnapshotRequest } from "./ports";

/** The snapshot function failed, or did not answer within the wait. */
export class SnapshotInvocationError extends EtcdAsgError {
  override readonly name = "SnapshotInvocationError";
}

/**
 * The durability port of the functions that take snapshots and recover (`rt`'s configuration, `env`
 * its environment, for the AWS endpoints). The S3 and Lambda clients load on first use.
 */
export function createDurability(
  rt: Pick<Runtime, "config">,
  env: NodeJS.ProcessEnv = process.env,
): DurabilityPort {
  const { config } = rt;
  const aws = {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    endpoint: (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL,
  };
  const ledger: LedgerOptions = {
    client: DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: aws.region, endpoint: aws.endpoint("DYNAMODB") }),
    ),
    tableName: config.ledgerTable,
    clusterName: config.clusterName,
  };
  let store: Promise<SnapshotStore> | undefined;
  let lambda: Promise<import("@aws-sdk/client-lambda").LambdaClient> | undefined;
  const { bucket, snapshotFunctionName } = config.durability;
  return {
    ledger: new DurabilityLedger(ledger),
    store: () => {
      if (bucket === undefined) {
        return Promise.reject(
          new ConfigError("SNAPSHOT_BUCKET is not set: this function has no snapshot bucket"),
        );
      }
      store ??= import("../adapters/snapshots").then(({ S3Client, SnapshotStore }) => {
        const endpoint = aws.endpoint("S3");
        // A local S3-compatible server is addressed path-style (AWS itself: virtual-hosted).
        const s3 = new S3Client({ region: aws.region, endpoint, forcePathStyle: endpoint !== undefined });
        return new SnapshotStore(s3, bucket, config.clusterName);
      });
      store.catch(() => {
        store = undefined;
      });
      return store;
    },
    sightings: async () => (await new MemberHealthLedger(ledger).load()).sightings,
    invokeSnapshot: async (request: SnapshotRequest, waitMs: number) => {
      if (snapshotFunctionName === undefined) {
        throw new ConfigError("SNAPSHOT_FUNCTION_NAME is not set: this function cannot ask for a snapshot");
      }
      lambda ??= import("../adapters/lambda").then(
        ({ LambdaClient }) => new LambdaClient({ region: aws.region, endpoint: aws.endpoint("LAMBDA") }),
      );
      const [{ InvokeCommand }, client] = await Promise.all([import("../adapters/lambda"), lambda]);
      const payload = JSON.stringify(request);
      const asynchronous = waitMs <= 0;
      let answer: import("@aws-sdk/client-lambda").InvokeCommandOutput;
      try {
        answer = await client.send(
          new InvokeCommand({
            FunctionName: snapshotFunctionName,
            InvocationType: asynchronous ? "Event" : "RequestResponse",
            Payload: payload,
          }),
          asynchronous ? {} : { abortSignal: AbortSignal.timeout(waitMs) },
        );
      } catch (error) {
        throw new SnapshotInvocationError(
          `invoking ${snapshotFunctionName} with ${payload} failed: ${(error as Error).message}`,
          { cause: error, retryable: true },
        );
      }
      if (asynchronous) return undefined;
      const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString("utf8");
      const result: unknown = text === "" ? null : JSON.parse(text);
      if (answer.FunctionError !== undefined) {
        const message = (result as { errorMessage?: string } | null)?.errorMessage ?? text;
        throw new SnapshotInvocationError(`${snapshotFunctionName} failed: ${message}`, { retryable: true });
      }
      return result;
    },
  };
}
