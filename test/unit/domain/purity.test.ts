// The folder-scoped lint rule that keeps lambdas/domain pure really rejects SDK, etcd3, node
// built-ins, the clock and randomness: checked by running Biome, with the project's configuration,
// on a probe file placed in a lambdas/domain folder.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";

const root = resolve(__dirname, "../../..");
const biome = join(root, "node_modules/.bin/biome");

function lintAsDomainFile(source: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-purity-"));
  try {
    const config = JSON.parse(readFileSync(join(root, "biome.json"), "utf8"));
    config.$schema = undefined;
    config.vcs = { enabled: false };
    writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
    mkdirSync(join(dir, "lambdas/domain"), { recursive: true });
    writeFileSync(join(dir, "lambdas/domain/probe.ts"), source);
    const run = spawnSync(biome, ["lint", "lambdas/domain/probe.ts"], { cwd: dir, encoding: "utf8" });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("lambdas/domain purity rule", () => {
  const forbidden = [
    ["an AWS SDK import", 'import { EC2Client } from "@aws-sdk/client-ec2";\nexport const x = EC2Client;\n'],
    ["an etcd3 import", 'import { Etcd3 } from "etcd3";\nexport const x = Etcd3;\n'],
    ["a node built-in", 'import { randomUUID } from "node:crypto";\nexport const x = randomUUID;\n'],
    ["an adapter import", 'import { y } from "../adapters/etcd";\nexport const x = y;\n'],
    ["the clock", "export const x = Date.now();\n"],
    ["randomness", "export const x = Math.random();\n"],
    ["the environment", "export const x = process.env.HOME;\n"],
  ] as const;
  for (const [what, source] of forbidden) {
    test(`rejects ${what}`, () => {
      const result = lintAsDomainFile(source);
      assert.equal(result.ok, false, result.output);
      assert.match(result.output, /noRestrictedImports|noRestrictedGlobals/);
    });
  }

  test("accepts a sibling domain import", () => {
    const result = lintAsDomainFile('import { quorum } from "./quorum";\nexport const x = quorum(3);\n');
    assert.equal(result.ok, true, result.output);
  });
});
