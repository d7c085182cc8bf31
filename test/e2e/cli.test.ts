// The operator CLI (`etcd-asg`, run as its bin runs it: a child process) against a running simulator:
// --local through the simulator's state file, --stack through the standard AWS environment (the
// SDK's endpoint variables pointed at the simulator's CloudFormation and Lambda, the operator's
// credentials), every command, --json, and the errors an operator meets: no target, no state file,
// no credentials, a stack that does not exist, a refused caller; snapshots taken into the stack's
// bucket and listed, a restore refused and one recorded; and the reconciler refusing an operation it does not know.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { ClusterStatus } from "../../lambdas/domain/cluster-status";
import { newKeyAndCsr } from "../../local/key-and-csr";
import { startSimulator } from "./simulator-bed";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(REPO_ROOT, "cli", "main.ts");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with only PATH and HOME of this environment, plus `env`. */
async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        AWS_CONFIG_FILE: "/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
        AWS_EC2_METADATA_DISABLED: "true",
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

test("etcd-asg against the simulator: every command, --local and --stack, and its errors", async (t) => {
  const sim = await startSimulator(t, { size: 3 });
  await sim.waitConverged(120_000);
  const dir = mkdtempSync(path.join(tmpdir(), "etcd-asg-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = path.join(dir, "state.json");
  writeFileSync(state, JSON.stringify(sim.operatorState()));
  const local = ["--local", "--state", state];
  const operator = sim.operatorState();
  const awsEnv = {
    AWS_REGION: operator.region,
    AWS_ACCESS_KEY_ID: operator.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: operator.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_CLOUDFORMATION: operator.endpoints.cloudformation,
    AWS_ENDPOINT_URL_LAMBDA: operator.endpoints.lambda,
  };

  await t.test("status --json: members, leader, raft index, ledger, instances, nothing pending", async () => {
    const run = await cli(["status", ...local, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout) as ClusterStatus;
    assert.equal(status.cluster?.generation, 1);
    assert.equal(status.cluster?.size, 3);
    assert.equal(status.members.length, 3);
    assert.ok(status.members.every((m) => m.healthy && !m.learner && Number(m.raftIndex) > 0));
    const leaders = status.members.filter((m) => m.leader);
    assert.equal(leaders.length, 1);
    assert.equal(leaders[0]?.id, status.leader);
    const live = sim.group.instances().filter((i) => i.lifecycleState === "InService");
    assert.deepEqual(
      status.instances.map((i) => [i.id, i.lifecycleState, i.phase]).sort(),
      live.map((i) => [i.id, "InService", "member"]).sort(),
    );
    assert.deepEqual(status.members.map((m) => m.name).sort(), live.map((i) => i.id).sort());
    assert.deepEqual(status.pendingLifecycleActions, []);
    assert.deepEqual(status.drift, []);
    assert.equal(status.lastSnapshot, undefined);
  });

  await t.test("status for people names the stack, the leader and every instance", async () => {
    const run = await cli(["status", ...local]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`stack ${sim.stack.stackName}: generation 1, running, size 3`));
    assert.match(run.stdout, /leader: \d+/);
    for (const instance of sim.group.instances()) assert.match(run.stdout, new RegExp(instance.id));
    assert.match(run.stdout, /drift: none/);
  });

  await t.test(
    "--stack reads the outputs with DescribeStacks through the standard AWS environment",
    async () => {
      const run = await cli(["status", "--stack", sim.stack.stackName, "--json"], awsEnv);
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as ClusterStatus).members.length, 3);
    },
  );

  await t.test("reconcile runs a pass and prints its report", async () => {
    const run = await cli(["reconcile", ...local, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { drift: number; membership: string };
    assert.equal(report.drift, 0);
    assert.equal(typeof report.membership, "string");
    const text = await cli(["reconcile", ...local]);
    assert.match(text.stdout, /^membership: /m);
  });

  await t.test("the reconciler refuses an operation it does not know, naming the ones it runs", async () => {
    const lambda = new LambdaClient({
      region: operator.region,
      endpoint: operator.endpoints.lambda,
      credentials: operator.credentials,
    });
    try {
      const answer = await lambda.send(
        new InvokeCommand({
          FunctionName: sim.stack.outputs.ReconcilerFunctionName,
          Payload: JSON.stringify({ operation: "defrag" }),
        }),
      );
      assert.equal(answer.FunctionError, "Unhandled");
      assert.match(
        Buffer.from(answer.Payload ?? new Uint8Array()).toString("utf8"),
        /unknown operation \\"defrag\\": the reconciler runs reconcile or status/,
      );
    } finally {
      lambda.destroy();
    }
  });

  await t.test("client-cert writes a certificate for the user, signed by the client CA", async () => {
    const { keyPem, csrPem } = newKeyAndCsr("someone-else");
    const csr = path.join(dir, "app1.csr");
    writeFileSync(csr, csrPem);
    const run = await cli([
      "client-cert",
      ...local,
      "--user",
      "app1",
      "--csr",
      csr,
      "--out",
      dir,
      "--lifetime",
      "3600",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /wrote .*app1\.crt/);
    const cert = new X509Certificate(readFileSync(path.join(dir, "app1.crt")));
    const ca = new X509Certificate(readFileSync(path.join(dir, "ca.crt")));
    assert.match(cert.subject, /CN=app1/);
    assert.ok(cert.verify(ca.publicKey), "signed by the CA it wrote");
    assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)));
    const tooLong = await cli([
      "client-cert",
      ...local,
      "--user",
      "root",
      "--csr",
      csr,
      "--out",
      dir,
      "--lifetime",
      "86400",
    ]);
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /lifetimeSeconds 86400 is over the 3600 s a certificate for root may live/);
  });

  await t.test("snapshot takes one now into the stack's bucket, and snapshots lists it", async () => {
    const run = await cli(["snapshot", ...local, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const taken = JSON.parse(run.stdout) as { outcome: string; key: string; snapshot: { revision: number } };
    assert.equal(taken.outcome, "taken");
    const clusterName = sim.stack.functions[0]?.environment.CLUSTER_NAME;
    assert.ok(taken.key.startsWith(`${clusterName}/`), `${taken.key} is under the cluster's prefix`);
    // The object is in the bucket the template declares, in the simulator's S3 server.
    const bucketKeys = async () => {
      const s3 = sim.s3Client();
      try {
        const listed = await s3.send(
          new ListObjectsV2Command({ Bucket: sim.stack.outputs.SnapshotBucketName }),
        );
        return (listed.Contents ?? []).map((o) => [o.Key, (o.Size ?? 0) > 0]);
      } finally {
        s3.destroy();
      }
    };
    assert.deepEqual(await bucketKeys(), [[taken.key, true]]);

    const list = await cli(["snapshots", ...local, "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const listing = JSON.parse(list.stdout) as {
      generation: number;
      latest: { key: string };
      snapshots: { key: string; revision: number; size: number }[];
    };
    assert.equal(listing.generation, 1);
    assert.equal(listing.latest.key, taken.key);
    assert.deepEqual(
      listing.snapshots.map((s) => [s.key, s.revision, s.size > 0]),
      [[taken.key, taken.snapshot.revision, true]],
    );
    const table = await cli(["snapshots", ...local]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^KEY\s+REVISION\s+BYTES\s+TAKEN AT/);
    assert.ok(table.stdout.includes(taken.key));

    // A second one within the hour: retention keeps one an hour, and the newest always.
    const text = await cli(["snapshot", ...local]);
    assert.equal(text.code, 0, text.stderr);
    const second = /^snapshot taken: (\S+)$/m.exec(text.stdout)?.[1];
    assert.ok(second !== undefined && second !== taken.key, text.stdout);
    assert.deepEqual(await bucketKeys(), [[second, true]]);
  });

  await t.test("restore refuses a key that is not a snapshot of this cluster, naming it", async () => {
    const run = await cli(["restore", ...local, "--key", "any"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /restore refused: snapshot "any" is not one of cluster \S+'s/);
  });

  await t.test("the snapshot function refuses what it does not know, naming what it runs", async () => {
    const lambda = new LambdaClient({
      region: operator.region,
      endpoint: operator.endpoints.lambda,
      credentials: operator.credentials,
    });
    try {
      for (const [payload, message] of [
        [
          { operation: "defrag" },
          /unknown operation \\"defrag\\": the snapshot function runs snapshot, list or restore/,
        ],
        [{ trigger: "copy-survivor", instanceId: "i-1" }, /copy-survivor needs instanceId and memberId/],
        [{ operation: "restore", key: 7 }, /restore needs the snapshot's key as \\"key\\" .*received 7/],
      ] as const) {
        const answer = await lambda.send(
          new InvokeCommand({
            FunctionName: sim.stack.outputs.SnapshotFunctionName,
            Payload: JSON.stringify(payload),
          }),
        );
        assert.equal(answer.FunctionError, "Unhandled");
        assert.match(Buffer.from(answer.Payload ?? new Uint8Array()).toString("utf8"), message);
      }
    } finally {
      lambda.destroy();
    }
  });

  await t.test("bad input and missing things are named", async () => {
    const cases: [readonly string[], Record<string, string>, number, RegExp][] = [
      [["status"], {}, 2, /which cluster\? --stack NAME .* or --local/],
      [["stats", ...local], {}, 2, /unknown command "stats"; one of status, reconcile/],
      [["status", "--local", "--stack", "X"], {}, 2, /--stack and --local exclude each other/],
      [["status", ...local, "--user", "x"], {}, 2, /--user does not go with status/],
      [["status", ...local, "--colour"], {}, 2, /Unknown option '--colour'/],
      [["restore", ...local], {}, 1, /restore needs the snapshot's key: --key KEY/],
      [["client-cert", ...local, "--user", "a"], {}, 2, /client-cert needs --csr FILE/],
      [["client-cert", ...local, "--user", "a", "--csr", state], {}, 1, /is not a PEM certificate request/],
      [
        ["status", "--local", "--state", path.join(dir, "none.json")],
        {},
        1,
        /no simulator state at .*none\.json/,
      ],
      [["status", "--stack", "Nope"], awsEnv, 1, /Stack with id Nope does not exist/],
      [
        ["status", "--stack", "EtcdAsg"],
        { AWS_REGION: "us-east-1" },
        1,
        /no AWS credentials for reading stack EtcdAsg's outputs/,
      ],
    ];
    for (const [args, env, code, message] of cases) {
      const run = await cli(args, env);
      assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(" "));
    }
  });

  await t.test("a caller IAM refuses is told so", async () => {
    const stranger = path.join(dir, "stranger.json");
    writeFileSync(
      stranger,
      JSON.stringify({
        ...operator,
        credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" },
      }),
    );
    const run = await cli(["status", "--local", "--state", stranger]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /reading stack \S+ outputs \(cloudformation:DescribeStacks\) failed: /);
  });

  // Last: once recorded, the reconciler's recovery step replaces every node of generation 1.
  await t.test("restore records the request for the newest snapshot and prints it", async () => {
    const list = await cli(["snapshots", ...local, "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const key = (JSON.parse(list.stdout) as { latest: { key: string } }).latest.key;
    const run = await cli(["restore", ...local, "--key", key, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const recorded = JSON.parse(run.stdout) as {
      outcome: string;
      generation: number;
      request: { generation: number; source: { key: string } };
    };
    assert.equal(recorded.outcome, "recorded");
    assert.equal(recorded.generation, 1);
    assert.deepEqual([recorded.request.generation, recorded.request.source.key], [1, key]);
    const text = await cli(["restore", ...local, "--key", key]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^restore of \S+ recorded over generation 1: the control plane opens generation 2 from /m,
    );
  });
});
