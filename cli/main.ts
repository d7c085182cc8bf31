#!/usr/bin/env node
// `npx etcd-asg <command>`: the operator's view of an etcd-asg cluster and its few actions, against a
// deployed stack (--stack NAME: its outputs, read with DescribeStacks) or the running simulator
// (--local: ./scripts/local --keep). Output is for people; --json prints the answer as JSON. Exit 0
// on success, 1 when the stack or AWS refused or failed (the message says what is missing), 2 on bad
// input (with the usage).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as commands from "./commands";
import { CliError, UsageError } from "./errors";
import { DEFAULT_LOCAL_STATE } from "./local-state";
import { openTarget, type Target, type TargetOptions } from "./target";

const USAGE = `Usage: etcd-asg <command> (--stack NAME [--region R] | --local [--state FILE]) [--json]

Commands:
  status                  members (health, leader, raft index, learners), the ledger's cluster,
                          generation and etcd cluster version, instances with lifecycle state, phase
                          and the etcd release each reported, pending lifecycle actions, the last
                          snapshot, drift
  reconcile               run a reconcile pass now and print its report
  client-cert --user NAME --csr FILE [--lifetime SECONDS] [--out DIR]
                          an etcd client certificate for NAME (CN) for the CSR's key: writes
                          DIR/NAME.crt and DIR/ca.crt (DIR defaults to .)
  snapshot                take a snapshot now
  snapshots               list the snapshots
  restore --key KEY       restore the cluster from the snapshot KEY as a new generation (recorded
                          in the ledger; the reconciler replaces every node and restores it)

Targets:
  --stack NAME            a deployed stack (AWS credentials and region from the usual chain, or --region)
  --local                 the simulator of ./scripts/local --keep (its state file: --state FILE,
                          default ${DEFAULT_LOCAL_STATE})
`;

const COMMANDS = ["status", "reconcile", "client-cert", "snapshot", "snapshots", "restore"] as const;
type Command = (typeof COMMANDS)[number];
const COMMAND_OPTIONS: Record<Command, readonly string[]> = {
  status: [],
  reconcile: [],
  "client-cert": ["user", "csr", "lifetime", "out"],
  snapshot: [],
  snapshots: [],
  restore: ["key"],
};
const TARGET_OPTIONS = ["stack", "region", "local", "state", "json", "help"];

function parse(argv: readonly string[]) {
  let parsed: ReturnType<typeof parseWith>;
  try {
    parsed = parseWith(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true as const };
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError("no command given");
  const command = COMMANDS.find((c) => c === name);
  if (command === undefined) throw new UsageError(`unknown command "${name}"; one of ${COMMANDS.join(", ")}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  for (const option of Object.keys(values)) {
    if (!TARGET_OPTIONS.includes(option) && !COMMAND_OPTIONS[command].includes(option)) {
      throw new UsageError(`--${option} does not go with ${command}`);
    }
  }
  return { help: false as const, command, values, target: targetOf(values) };
}

function parseWith(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      stack: { type: "string" },
      region: { type: "string" },
      local: { type: "boolean" },
      state: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      user: { type: "string" },
      csr: { type: "string" },
      lifetime: { type: "string" },
      out: { type: "string" },
      key: { type: "string" },
    },
  });
}

type Values = ReturnType<typeof parseWith>["values"];

function targetOf(values: Values): TargetOptions {
  if (values.stack !== undefined && values.local)
    throw new UsageError("--stack and --local exclude each other");
  if (values.local) {
    if (values.region !== undefined) throw new UsageError("--region goes with --stack, not --local");
    return { kind: "local", stateFile: values.state ?? DEFAULT_LOCAL_STATE };
  }
  if (values.state !== undefined) throw new UsageError("--state goes with --local");
  if (values.stack === undefined || values.stack === "") {
    throw new UsageError("which cluster? --stack NAME (a deployed stack) or --local (the simulator)");
  }
  return { kind: "stack", stackName: values.stack, region: values.region };
}

function run(command: Command, values: Values, target: Target): Promise<commands.CommandResult> {
  switch (command) {
    case "status":
      return commands.status(target);
    case "reconcile":
      return commands.reconcile(target);
    case "client-cert":
      return commands.clientCert(target, clientCertOptions(values));
    case "snapshot":
      return commands.snapshot(target);
    case "snapshots":
      return commands.snapshots(target);
    case "restore":
      return commands.restore(target, values.key ?? "");
  }
}

function clientCertOptions(values: Values): commands.ClientCertOptions {
  if (values.user === undefined)
    throw new UsageError("client-cert needs --user NAME (the etcd user, the CN)");
  if (values.csr === undefined) throw new UsageError("client-cert needs --csr FILE (a PEM CSR for your key)");
  let csrPem: string;
  try {
    csrPem = readFileSync(values.csr, "utf8");
  } catch {
    throw new CliError(`--csr ${values.csr}: no such file`);
  }
  if (!csrPem.includes("-----BEGIN CERTIFICATE REQUEST-----")) {
    throw new CliError(`--csr ${values.csr} is not a PEM certificate request`);
  }
  const lifetime = values.lifetime === undefined ? undefined : Number(values.lifetime);
  if (lifetime !== undefined && !(Number.isInteger(lifetime) && lifetime > 0)) {
    throw new UsageError(`--lifetime must be a whole number of seconds, got "${values.lifetime}"`);
  }
  return { user: values.user, csrPem, lifetimeSeconds: lifetime, outDir: values.out ?? "." };
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`etcd-asg: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  let target: Target | undefined;
  try {
    target = await openTarget(parsed.target);
    const result = await run(parsed.command, parsed.values, target);
    console.log(parsed.values.json ? JSON.stringify(result.json, null, 2) : result.text);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`etcd-asg: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (!(error instanceof CliError)) throw error;
    console.error(`etcd-asg: ${error.message}`);
    return 1;
  } finally {
    target?.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
