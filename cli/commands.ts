// The CLI's commands, each one invocation of a function the stack's outputs name. The snapshot
// commands need the stack's snapshot function (output SnapshotFunctionName), which a stack without
// the durability work (issue 15) does not have: they say so.
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ClusterStatus } from "../lambdas/domain/cluster-status";
import { CliError } from "./errors";
import { renderStatus, table } from "./render";
import type { Target } from "./target";

/** What a command prints: the JSON of `--json`, and the text for people. */
export interface CommandResult {
  readonly json: unknown;
  readonly text: string;
}

const RECONCILER = "ReconcilerFunctionName";
const CLIENT_CERT = "ClientCertFunctionName";
const SNAPSHOT = "SnapshotFunctionName";
const NO_SNAPSHOTS = "this stack has no snapshot function (snapshots come with etcd-asg's durability work)";

export async function status(target: Target): Promise<CommandResult> {
  const json = (await target.invoke(target.output(RECONCILER), { operation: "status" })) as ClusterStatus;
  return { json, text: renderStatus(target.stackName, json) };
}

export async function reconcile(target: Target): Promise<CommandResult> {
  const json = (await target.invoke(target.output(RECONCILER), { operation: "reconcile" })) as Record<
    string,
    unknown
  >;
  return {
    json,
    text: Object.entries(json)
      .map(([key, value]) => `${key}: ${String(value)}`)
      .join("\n"),
  };
}

export interface ClientCertOptions {
  readonly user: string;
  readonly csrPem: string;
  readonly lifetimeSeconds: number | undefined;
  /** Where `<user>.crt` and `ca.crt` are written. */
  readonly outDir: string;
}

export async function clientCert(target: Target, options: ClientCertOptions): Promise<CommandResult> {
  const json = (await target.invoke(target.output(CLIENT_CERT), {
    user: options.user,
    csr: options.csrPem,
    ...(options.lifetimeSeconds === undefined ? {} : { lifetimeSeconds: options.lifetimeSeconds }),
  })) as { certificate: string; ca: string; serialNumber: string; notAfter: string };
  const certFile = path.join(options.outDir, `${options.user}.crt`);
  const caFile = path.join(options.outDir, "ca.crt");
  writeFileSync(certFile, json.certificate);
  writeFileSync(caFile, json.ca);
  return {
    json: { ...json, certificateFile: certFile, caFile },
    text: `wrote ${certFile} (serial ${json.serialNumber}, valid until ${json.notAfter}) and ${caFile}`,
  };
}

export async function snapshot(target: Target): Promise<CommandResult> {
  const json = (await target.invoke(target.output(SNAPSHOT, NO_SNAPSHOTS), { operation: "snapshot" })) as {
    key?: string;
  };
  return { json, text: `snapshot taken: ${json.key ?? JSON.stringify(json)}` };
}

export async function snapshots(target: Target): Promise<CommandResult> {
  const json = (await target.invoke(target.output(SNAPSHOT, NO_SNAPSHOTS), { operation: "list" })) as {
    snapshots?: { key: string; revision?: number; size?: number; takenAt?: string }[];
  };
  const rows = (json.snapshots ?? []).map((s) => [
    s.key,
    String(s.revision ?? "-"),
    String(s.size ?? "-"),
    s.takenAt ?? "-",
  ]);
  return { json, text: table(["KEY", "REVISION", "BYTES", "TAKEN AT"], rows).join("\n") };
}

export async function restore(target: Target, key: string): Promise<CommandResult> {
  if (key === "")
    throw new CliError("restore needs the snapshot's key: --key KEY (see `etcd-asg snapshots`)");
  const json = (await target.invoke(target.output(SNAPSHOT, NO_SNAPSHOTS), {
    operation: "restore",
    key,
  })) as {
    generation?: number;
    reason?: string;
  };
  return {
    json,
    text: `restore of ${key} recorded over generation ${json.generation ?? "?"}: ${json.reason ?? JSON.stringify(json)}`,
  };
}
