// `npm run fuzz -- --inputs N --seed S`: forms a real 3-member etcd cluster through the control plane
// (AWS emulator, dynalite, etcd on 127.0.X.0/24), fires N generated malformed or hostile inputs at
// the launch hook, the terminate hook and the node API, and prints the inputs tried by category,
// the answers, the findings and the unintended changes (which must be 0). Stops every server and
// process it started on exit and on Ctrl-C.
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { formCluster } from "../../test/helpers/control-plane-flows";
import { formatReport } from "./report";
import { runFuzz } from "./runner";
import { type StandaloneBed, startStandaloneBed } from "./standalone-bed";

const USAGE = `usage: npm run fuzz -- [--inputs N] [--seed S] [--batch B] [--concurrency C]
  --inputs       inputs to fire (default 10000)
  --seed         32-bit integer; the same seed fires the same inputs (default: random, printed)
  --batch        inputs between two checks of the ledger, etcd and the group (default 100)
  --concurrency  inputs in flight at once (default 8)`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

function positiveInteger(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min}; received ${JSON.stringify(value)}`);
  return n;
}

function options() {
  const { values } = parseArgs({
    options: {
      inputs: { type: "string" },
      seed: { type: "string" },
      batch: { type: "string" },
      concurrency: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 31) {
    throw new UsageError(`--seed must be a 32-bit integer; received ${JSON.stringify(values.seed)}`);
  }
  return {
    inputs: positiveInteger("inputs", values.inputs, 10_000),
    seed,
    batchSize: positiveInteger("batch", values.batch, 100),
    concurrency: positiveInteger("concurrency", values.concurrency, 8),
  };
}

async function main(): Promise<number> {
  const opts = options();
  // The control plane's own logs go to the fuzzer's capture; the runtime's base logger stays quiet.
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  const started = Date.now();
  let standalone: StandaloneBed | undefined;
  let passed = false;
  let interrupted = false;
  // Ctrl-C reaches this process twice (from the terminal's process group and relayed by tsx), and
  // etcd directly: stop once, and keep the handler so a repeated signal does not cut the clean-up short.
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\nfuzz: ${signal}; stopping the servers and etcd`);
    void (standalone?.stop({ passed: true }) ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  try {
    standalone = await startStandaloneBed({ clusterSize: 3 });
    const members = await formCluster(standalone.bed);
    const formedMs = Date.now() - started;
    console.error(
      `fuzz: seed ${opts.seed}; cluster of ${members.length} formed in ${(formedMs / 1000).toFixed(1)} s`,
    );
    const fuzzStarted = Date.now();
    const report = await runFuzz(standalone.bed, {
      ...opts,
      onBatch: (done) => {
        if (done % (opts.batchSize * 10) === 0) console.error(`fuzz: ${done}/${opts.inputs} inputs`);
      },
    });
    console.log(formatReport(report, { fuzzMs: Date.now() - fuzzStarted, formedMs, inputs: opts.inputs }));
    passed = report.findings.length === 0 && report.unintendedChanges.length === 0;
    return passed ? 0 : 1;
  } finally {
    await standalone?.stop({ passed });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? `${error.message}\n${USAGE}` : error);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
