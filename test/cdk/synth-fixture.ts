// Synthesizes an EtcdAsgStack for the CDK tests the way `npx cdk synth` does (cdk.json's context,
// the same account and region), but from tiny stand-in Lambda bundles and boot script in a temp
// folder, so the tests need neither `npm run build` nor the real boot script.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { EtcdAsgStack, type EtcdAsgStackProps } from "../../cdk/lib/etcd-asg-stack";
import { FUNCTION_NAMES } from "../../cdk/lib/etcd-cluster-props";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

export const FIXTURE_BOOT_SCRIPT = "#!/usr/bin/env bash\n# stand-in boot script\necho booted\n";

export interface Fixture {
  /** Holds `lambdas/<name>/lib/index.js` and `etcd-asg-boot.sh`. */
  readonly dir: string;
  readonly lambdaBundlesDir: string;
  readonly bootScriptPath: string;
  readonly remove: () => void;
}

export function makeFixture(): Fixture {
  const dir = mkdtempSync(path.join(tmpdir(), "etcd-asg-cdk-"));
  const lambdaBundlesDir = path.join(dir, "lambdas");
  for (const name of FUNCTION_NAMES) {
    mkdirSync(path.join(lambdaBundlesDir, name, "lib"), { recursive: true });
    writeFileSync(
      path.join(lambdaBundlesDir, name, "lib", "index.js"),
      `exports.handler = async () => ${JSON.stringify(name)};\n`,
    );
  }
  const bootScriptPath = path.join(dir, "etcd-asg-boot.sh");
  writeFileSync(bootScriptPath, FIXTURE_BOOT_SCRIPT);
  return {
    dir,
    lambdaBundlesDir,
    bootScriptPath,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** cdk.json's context: feature flags and the offline account's availability zones. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: EtcdAsgStack;
  readonly template: Template;
  /** The template file in the cloud assembly, for cfn-lint. */
  readonly templatePath: string;
}

export interface Built {
  readonly app: App;
  readonly stack: EtcdAsgStack;
}

/** Builds the app (writing to `fixture.dir/cdk.out` when synthesized) without synthesizing it. */
export function build(fixture: Fixture, cluster: EtcdAsgStackProps["cluster"] = {}): Built {
  const context = cdkJsonContext();
  // Stack traces and tree metadata halve the synth time and no test reads them.
  const app = new App({
    context,
    outdir: path.join(fixture.dir, "cdk.out"),
    stackTraces: false,
    treeMetadata: false,
  });
  const stack = new EtcdAsgStack(app, "EtcdAsg", {
    env: {
      account: String(context["etcd-asg:offlineAccount"]),
      region: String(context["etcd-asg:offlineRegion"]),
    },
    cluster: {
      lambdaBundlesDir: fixture.lambdaBundlesDir,
      bootScriptPath: fixture.bootScriptPath,
      ...cluster,
    },
  });
  return { app, stack };
}

/** Builds the app into `fixture.dir/cdk.out` and synthesizes it once. */
export function synthesize(fixture: Fixture, cluster: EtcdAsgStackProps["cluster"] = {}): Synthesized {
  const { app, stack } = build(fixture, cluster);
  const assembly = app.synth();
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    templatePath: path.join(assembly.directory, stack.templateFile),
  };
}
