// Figure 5: what each Lambda costs — its size as deployed (≤ 1 MB) with what fills it, and its cold
// init in a fresh `node` process against a baseline handler that only builds the same AWS SDK
// clients (≤ 1.5×). Each bundle then handles one real event of its kind against local servers;
// that first invocation is shown too (it makes real calls, the baseline makes none, so it has no
// target).
import { buildBaseline, contributors, deployedBundles, deployedSize } from "../lambda/bundles";
import { type ColdStart, coldStart } from "../lambda/cold-init";
import { startLocalServers } from "../lambda/local-servers";
import { type Check, type Figure, type Row, ratioCheck, row } from "../report";
import type { FigureContext } from "./context";

const MAX_BYTES = 1_000_000;

export async function lambdaCostFigure(ctx: FigureContext): Promise<Figure> {
  const bundles = await deployedBundles();
  const baseline = await buildBaseline();
  const servers = await startLocalServers();
  try {
    const rows: Row[] = [];
    const checks: Check[] = [];
    const names = Object.keys(bundles) as (keyof typeof bundles)[];
    const runs = new Map<string, ColdStart[]>([
      ["baseline", []],
      ...names.map((n) => [n, []] as [string, ColdStart[]]),
    ]);
    // Interleaved, so that background load hits every bundle alike.
    for (let rep = 1; rep <= ctx.reps; rep++) {
      runs.get("baseline")?.push(await coldStart(baseline.file, {}, servers.env));
      for (const name of names)
        runs.get(name)?.push(await coldStart(bundles[name], servers.events[name], servers.env));
      ctx.progress(`cold starts rep ${rep} done`);
    }
    const init = (name: string) => (runs.get(name) ?? []).map((r) => r.initMs);
    const baselineRow = row(
      `baseline (SDK clients only, ${Math.round(baseline.bytes / 1000)} KB): cold init`,
      "ms",
      init("baseline"),
    );
    rows.push(baselineRow);
    for (const name of names) {
      const size = deployedSize(name);
      const sizeRow = row(
        `${name}: size as deployed (lib ${kb(size.lib)} + proto ${kb(size.proto)})`,
        "bytes",
        [size.total],
        `largest parts of lib/index.js: ${await contributors(name)}`,
      );
      const initRow = row(`${name}: cold init`, "ms", init(name));
      const invokeRow = row(
        `${name}: first event, real calls to local servers`,
        "ms",
        (runs.get(name) ?? []).map((r) => r.invokeMs),
      );
      rows.push(sizeRow, initRow, invokeRow);
      checks.push(
        {
          label: `${name}: size`,
          value: size.total,
          unit: "bytes",
          target: "≤ 1.00 MB",
          pass: size.total <= MAX_BYTES,
        },
        ratioCheck(`${name}: cold init / baseline`, initRow, baselineRow, 1.5),
      );
    }
    return {
      id: "lambda",
      title: "5. Lambda cost (size as deployed, cold init in a fresh node process)",
      rows,
      checks,
    };
  } finally {
    await servers.stop();
    baseline.remove();
  }
}

function kb(bytes: number): string {
  return `${Math.round(bytes / 1000)} KB`;
}
