// The simulator's state file: what `etcd-asg --local` needs to reach a running simulator as its
// operator — the stack's name, the region, the operator's IAM credentials and the local endpoints of
// CloudFormation (DescribeStacks, for the stack's outputs) and Lambda (Invoke). `./scripts/local
// --keep` writes it to DEFAULT_LOCAL_STATE while it runs and removes it when it stops.
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CliError } from "./errors";

export interface LocalState {
  readonly stackName: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly endpoints: { readonly cloudformation: string; readonly lambda: string };
}

export const DEFAULT_LOCAL_STATE = path.join(tmpdir(), "etcd-asg-local.json");

export function readLocalState(file: string): LocalState {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new CliError(
      `no simulator state at ${file}: start one with \`./scripts/local --keep\` (or name its file with --state)`,
    );
  }
  const state = parse(text);
  const missing = [
    typeof state?.stackName === "string" ? undefined : "stackName",
    typeof state?.region === "string" ? undefined : "region",
    typeof state?.credentials?.accessKeyId === "string" ? undefined : "credentials.accessKeyId",
    typeof state?.credentials?.secretAccessKey === "string" ? undefined : "credentials.secretAccessKey",
    typeof state?.endpoints?.cloudformation === "string" ? undefined : "endpoints.cloudformation",
    typeof state?.endpoints?.lambda === "string" ? undefined : "endpoints.lambda",
  ].filter((field) => field !== undefined);
  if (missing.length > 0) throw new CliError(`simulator state ${file} lacks ${missing.join(", ")}`);
  return state as LocalState;
}

function parse(text: string): Partial<{ [K in keyof LocalState]: Partial<LocalState[K]> }> | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
