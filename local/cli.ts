// `npm run local`: runs etcd-asg on this machine with the simulator — a real etcd cluster in an
// emulated Auto Scaling group, kept in step by the real control-plane bundles — plays a scenario,
// prints progress and the membership timeline, and checks the end state. Exits 0 when the cluster
// converged, every key written is readable and no lifecycle action timed out; otherwise 1 with the
// reason. Nothing it started is left running, also on Ctrl-C.
//
// Usage: npm run local -- [--size 3|5|7] [--scenario NAME] [--template PATH [--assets DIR]] [--keep] [--help]
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_LOCAL_STATE } from "../cli/local-state";
import { SCENARIOS } from "./simulator/scenarios";
import { Simulator } from "./simulator/simulator";

const USAGE = `Usage: npm run local -- [--size 3|5|7] [--scenario NAME] [--template PATH] [--keep]

  --size N         the cluster size the app is synthesized with (context etcd-asg:clusterSize;
                   default 3); also the group's size
  --template PATH  run this synthesized template instead of synthesizing the app (its assets,
                   asset.<hash>/, are looked up next to it; --assets DIR to look elsewhere)
  --scenario NAME  what to play (default demo):
${Object.entries(SCENARIOS)
  .map(([name, s]) => `                     ${name.padEnd(11)} ${s.summary}`)
  .join("\n")}
  --keep           stay up after the scenario until Ctrl-C (prints the endpoints; writes the state
                   file that "npx etcd-asg <command> --local" reads)
`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

function options() {
  const { values } = parseArgs({
    options: {
      size: { type: "string", default: "3" },
      scenario: { type: "string", default: "demo" },
      keep: { type: "boolean", default: false },
      template: { type: "string" },
      assets: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const size = Number(values.size);
  if (![3, 5, 7].includes(size)) throw new UsageError(`--size must be 3, 5 or 7, got "${values.size}"`);
  const scenario = SCENARIOS[values.scenario];
  if (scenario === undefined) {
    throw new UsageError(
      `unknown --scenario "${values.scenario}"; one of ${Object.keys(SCENARIOS).join(", ")}`,
    );
  }
  if (values.assets !== undefined && values.template === undefined) {
    throw new UsageError("--assets goes with --template");
  }
  if (values.template !== undefined && !existsSync(values.template)) {
    throw new UsageError(`--template ${values.template} does not exist`);
  }
  return {
    size,
    name: values.scenario,
    scenario,
    keep: values.keep,
    help: values.help,
    template: values.template,
    assets: values.assets,
  };
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof options>;
  try {
    opts = options();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  const log = (line: string) => console.log(`${elapsed()}  ${line}`);
  log(`scenario ${opts.name}: ${opts.scenario.summary} (cluster size ${opts.size})`);

  let sim: Simulator | undefined;
  const interruption = new AbortController();
  let interruptedCode = 0;
  const interrupt = (sig: NodeJS.Signals) => {
    if (interruption.signal.aborted) return;
    interruptedCode = sig === "SIGINT" ? 130 : 143;
    console.log(`\n${sig}: stopping everything`);
    // While Simulator.start runs, the abort makes it stop what it launched and reject; main() then
    // returns. Once it is up, the scenario may wait on a cluster that is going away: exit when stopped.
    interruption.abort();
    if (sim) void sim.stop().finally(() => process.exit(interruptedCode));
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);

  let failure: string | undefined;
  try {
    sim = await Simulator.start({
      size: opts.size,
      ...(opts.template === undefined ? {} : { template: opts.template }),
      ...(opts.assets === undefined ? {} : { assetsDir: opts.assets }),
      log,
      signal: interruption.signal,
    });
    interruption.signal.throwIfAborted();
    await opts.scenario.run(sim);
    failure = await endStateProblem(sim);
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  if (interruption.signal.aborted) {
    // Also when the signal came between the start's end and `sim` being set.
    await sim?.stop();
    return interruptedCode;
  }
  if (sim) {
    console.log("\nMembership timeline:");
    for (const line of sim.timeline.render(["step", "fault", "instance", "member"])) console.log(line);
  }
  if (failure === undefined && opts.keep && sim) {
    console.log(`\nThe cluster stays up until Ctrl-C. etcd client URLs: ${sim.clientUrls().join(",")}`);
    console.log(`AWS emulator: ${sim.emulator.endpoint}   files: ${sim.root}`);
    // For `npx etcd-asg <command> --local`; removed on the way out (the exit hook covers a kill).
    writeFileSync(DEFAULT_LOCAL_STATE, JSON.stringify(sim.operatorState()), { mode: 0o600 });
    process.on("exit", () => rmSync(DEFAULT_LOCAL_STATE, { force: true }));
    console.log(`Operator CLI: npx etcd-asg status --local   (state: ${DEFAULT_LOCAL_STATE})`);
    await new Promise(() => {});
  }
  await sim?.stop(failure !== undefined);
  if (failure !== undefined) {
    console.error(`\nFAILED after ${elapsed().trim()}: ${failure}`);
    if (sim) console.error(`logs kept in ${sim.root} (lambda-logs/, instances/<id>/boot.log and etcd.log)`);
    return 1;
  }
  console.log(
    `\nOK after ${elapsed().trim()}: etcd's members are the group's InService instances, all ${sim?.written.size} keys are readable, no lifecycle action timed out.`,
  );
  return 0;
}

async function endStateProblem(sim: Simulator): Promise<string | undefined> {
  const divergence = await sim.divergence();
  if (divergence !== undefined) return divergence;
  const lost = await sim.lostKeys();
  if (lost.length > 0)
    return `${lost.length} keys written with quorum are lost: ${lost.slice(0, 5).join(", ")}`;
  const timeouts = sim.timedOutActions();
  if (timeouts.length > 0) {
    return `lifecycle actions timed out: ${timeouts.map((t) => `${t.hookName} ${t.instanceId} -> ${t.result}`).join(", ")}`;
  }
  return undefined;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
