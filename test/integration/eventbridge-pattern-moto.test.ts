// Cross-checks local/eventbridge/pattern.ts against an independent implementation of EventBridge's
// pattern language: moto's (`moto.events.models.EventPattern`), on a few hundred generated
// pattern/event pairs from a fixed seed. Pairs where moto itself departs from AWS's documented
// behaviour are left out, each kind with its reason (MOTO_DEVIATIONS), and counted.
// Needs python3 with moto 5; skipped, saying so, where moto is not installed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { compileEventPattern } from "../../local/eventbridge/pattern";

const PAIRS = 600;
const SEED = 20_240_611;

const probe = spawnSync("python3", ["-c", "import moto"], { encoding: "utf8" });
const skip =
  probe.status === 0
    ? false
    : `moto is not installed (python3 -c "import moto" failed: ${(probe.stderr || String(probe.error)).trim().split("\n").pop()}); pip install "moto>=5" to run this cross-check`;

/** Where moto's matcher departs from AWS's documentation; pairs that hit one are not compared. */
const MOTO_DEVIATIONS = {
  "array-of-non-scalars":
    "moto does not look inside arrays of objects or nested arrays; AWS matches their elements",
  "empty-object-or-array":
    "moto treats {} and [] as present values (exists: true, anything-but match them); AWS sees no leaf there",
  "boolean-vs-number": "moto compares in Python, where True == 1 and a bool is an int (numeric matches it)",
  "cidr-on-number": "moto's cidr passes numbers to ipaddress.ip_address, which reads 5 as 0.0.0.5",
} as const;
type Deviation = keyof typeof MOTO_DEVIATIONS;

const MOTO_SCRIPT = `
import json, sys
from moto.events.models import EventPattern
pairs = json.load(open(sys.argv[1]))
print(json.dumps([EventPattern.load(json.dumps(p["pattern"])).matches_event(p["event"]) for p in pairs]))
`;

test("matches as moto's EventPattern does on generated pairs, where moto follows AWS", {
  skip,
  timeout: 120_000,
}, (t) => {
  const random = mulberry32(SEED);
  const pairs = Array.from({ length: PAIRS }, () => generatePair(random));
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-eb-moto-"));
  let moto: boolean[];
  try {
    const file = join(dir, "pairs.json");
    writeFileSync(file, JSON.stringify(pairs.map(({ pattern, event }) => ({ pattern, event }))));
    const run = spawnSync("python3", ["-c", MOTO_SCRIPT, file], { encoding: "utf8", timeout: 100_000 });
    assert.equal(run.status, 0, `moto failed: ${run.stderr}`);
    moto = JSON.parse(run.stdout) as boolean[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const excluded = new Map<Deviation, number>();
  const mismatches: string[] = [];
  let compared = 0;
  let matched = 0;
  pairs.forEach(({ pattern, event, fields }, index) => {
    const deviation = fields.map((field) => motoDeviation(field, event)).find((d) => d !== undefined);
    if (deviation !== undefined) {
      excluded.set(deviation, (excluded.get(deviation) ?? 0) + 1);
      return;
    }
    compared += 1;
    const ours = compileEventPattern(pattern).matches(event);
    if (ours) matched += 1;
    if (ours !== moto[index]) {
      mismatches.push(
        `ours=${ours} moto=${moto[index]}\n  pattern ${JSON.stringify(pattern)}\n  event ${JSON.stringify(event)}`,
      );
    }
  });
  for (const [deviation, count] of excluded) {
    t.diagnostic(`left out ${count}: ${deviation} (${MOTO_DEVIATIONS[deviation]})`);
  }
  t.diagnostic(`compared ${compared} of ${PAIRS} pairs, ${matched} of them matching`);
  assert.deepEqual(mismatches, []);
  // The generator must keep producing comparable pairs, matching and not, or the check says little.
  assert.ok(compared >= PAIRS / 2, `only ${compared} pairs compared`);
  assert.ok(matched >= compared / 5 && matched <= (compared * 4) / 5, `${matched} of ${compared} matched`);
});

// ---------------------------------------------------------------------------------------------
// Generation: events over a few fields, patterns over the same fields with values drawn from the
// same pools, so that about half the pairs match.

type Random = () => number;

interface Field {
  readonly path: readonly string[];
  readonly values: readonly unknown[];
}

interface Pair {
  readonly pattern: Record<string, unknown>;
  readonly event: Record<string, unknown>;
  /** Every field the pattern names (inside $or too). */
  readonly fields: readonly Field[];
}

const PATHS: ReadonlyArray<readonly string[]> = [
  ["source"],
  ["region"],
  ["detail", "state"],
  ["detail", "count"],
  ["detail", "ip"],
  ["detail", "tags"],
  ["detail", "flag"],
  ["detail", "file"],
];

const STRINGS = [
  "aws.ec2",
  "aws.s3",
  "AWS.EC2",
  "running",
  "terminated",
  "",
  "10.0.0.5",
  "192.168.1.9",
  "2001:db8::7",
  "init-1",
  "photo.png",
  "/usr/lib/x.so",
  "a*b",
];
const NUMBERS = [0, 1, 5, 5.5, -3, 100, 301.8];
const CIDRS = ["10.0.0.0/24", "10.0.1.0/24", "192.168.0.0/16", "2001:db8::/32"];
const WILDCARDS = ["*.png", "aws.*", "*lib*", "a\\*b", "*", "*e*"];

function generatePair(random: Random): Pair {
  const event: Record<string, unknown> = {};
  for (const path of PATHS) if (random() > 0.15) setPath(event, path, eventValue(random));
  const fields: Field[] = [];
  const group = () => {
    const chosen = shuffle(random, PATHS).slice(0, random() < 0.7 ? 1 : 2);
    return chosen.map((path) => {
      const field = {
        path,
        values: Array.from({ length: 1 + Math.floor(random() * 3) }, () => patternValue(random)),
      };
      fields.push(field);
      return field;
    });
  };
  const pattern: Record<string, unknown> = {};
  for (const field of group()) setPath(pattern, field.path, field.values);
  if (random() < 0.25) {
    pattern.$or = [group(), group()].map((alternative) => {
      const object: Record<string, unknown> = {};
      for (const field of alternative) setPath(object, field.path, field.values);
      return object;
    });
  }
  return { pattern, event, fields };
}

function eventValue(random: Random): unknown {
  const pick = random();
  if (pick < 0.45) return choose(random, STRINGS);
  if (pick < 0.65) return choose(random, NUMBERS);
  if (pick < 0.7) return null;
  if (pick < 0.75) return random() < 0.5;
  if (pick < 0.9) return Array.from({ length: 1 + Math.floor(random() * 3) }, () => scalar(random));
  if (pick < 0.94) return random() < 0.5 ? [] : {};
  if (pick < 0.97) return [[choose(random, STRINGS)], [choose(random, NUMBERS)]];
  return [{ name: choose(random, STRINGS) }];
}

function scalar(random: Random): unknown {
  return choose(random, [choose(random, STRINGS), choose(random, NUMBERS), null, random() < 0.5]);
}

function patternValue(random: Random): unknown {
  const s = () => choose(random, STRINGS);
  const part = (text: string, fromStart: boolean) => {
    const cut = 1 + Math.floor(random() * Math.max(1, text.length - 1));
    return fromStart ? text.slice(0, cut) : text.slice(-cut);
  };
  const nonEmpty = () =>
    STRINGS.filter((x) => x !== "")[Math.floor(random() * (STRINGS.length - 1))] as string;
  const mixCase = (text: string) => [...text].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join("");
  const n = () => choose(random, NUMBERS);
  switch (Math.floor(random() * 14)) {
    case 0:
      return s();
    case 1:
      return choose(random, [n(), null, true, false]);
    case 2:
      return { prefix: part(s(), true) };
    case 3:
      return { prefix: { "equals-ignore-case": mixCase(part(nonEmpty(), true)) } };
    case 4:
      return random() < 0.5
        ? { suffix: part(s(), false) }
        : { suffix: { "equals-ignore-case": mixCase(part(nonEmpty(), false)) } };
    case 5:
      return { "equals-ignore-case": mixCase(s()) };
    case 6:
      return { "anything-but": choose(random, [s(), n(), [s(), s()], [n(), n()]]) };
    case 7:
      return {
        "anything-but": choose(random, [
          { prefix: part(nonEmpty(), true) },
          { suffix: part(nonEmpty(), false) },
          { "equals-ignore-case": random() < 0.5 ? mixCase(s()) : [mixCase(s()), mixCase(s())] },
          {
            wildcard:
              random() < 0.5
                ? choose(random, WILDCARDS)
                : [choose(random, WILDCARDS), choose(random, WILDCARDS)],
          },
        ]),
      };
    case 8:
    case 9: {
      const [low, high] = [n(), n()].sort((a, b) => a - b) as [number, number];
      return {
        numeric: choose(random, [
          [">", low],
          ["<=", high],
          ["=", low],
          low < high ? [">=", low, "<", high] : [">", low],
        ]),
      };
    }
    case 10:
      return { exists: random() < 0.5 };
    case 11:
      return { cidr: choose(random, CIDRS) };
    default:
      return { wildcard: choose(random, WILDCARDS) };
  }
}

function motoDeviation(field: Field, event: unknown): Deviation | undefined {
  let node: unknown = event;
  for (const segment of field.path) {
    if (Array.isArray(node)) return "array-of-non-scalars";
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  if (node === undefined) return undefined;
  if (Array.isArray(node) && node.length === 0) return "empty-object-or-array";
  if (isObject(node) && Object.keys(node).length === 0) return "empty-object-or-array";
  if (Array.isArray(node) && node.some((element) => typeof element === "object" && element !== null)) {
    return "array-of-non-scalars";
  }
  const leaves: unknown[] = Array.isArray(node) ? node : [node];
  const hasBoolean = leaves.some((leaf) => typeof leaf === "boolean");
  const hasNumber = leaves.some((leaf) => typeof leaf === "number");
  const numeric = field.values.some(
    (value) =>
      typeof value === "number" ||
      (isObject(value) &&
        ("numeric" in value ||
          typeof value["anything-but"] === "number" ||
          (Array.isArray(value["anything-but"]) && typeof value["anything-but"][0] === "number"))),
  );
  const boolean = field.values.some((value) => typeof value === "boolean");
  if ((hasBoolean && numeric) || (hasNumber && boolean)) return "boolean-vs-number";
  if (hasNumber && field.values.some((value) => isObject(value) && "cidr" in value)) return "cidr-on-number";
  return undefined;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!isObject(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function choose<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** A small seeded PRNG, so every run checks the same pairs. */
function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
