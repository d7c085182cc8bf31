// The construct used as a library user uses it: the package is compiled (tsconfig.package.json) and
// packed with `npm pack`, the tarball is unpacked into a fresh CDK app's node_modules/etcd-asg (where
// npm installs it; the app installs nothing else from this repository — aws-cdk-lib, constructs and
// cdk-nag are linked from the repository's node_modules, as a user's own would be), the app's
// TypeScript is typechecked against the package's declarations, and it synthesizes an EtcdCluster in
// its own stack offline with cdk-nag's three packs, which must find nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { FUNCTION_NAMES } from "../../cdk/lib/etcd-cluster-props";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const LINKED = ["aws-cdk-lib", "constructs", "cdk-nag"] as const;

const APP_SOURCE = `
import { App, Stack, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from "cdk-nag";
import { EtcdCluster, type EtcdClusterProps } from "etcd-asg";

const app = new App({
  outdir: "cdk.out",
  context: {
    "availability-zones:account=123456789012:region=eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  },
});
const stack = new Stack(app, "UserStack", { env: { account: "123456789012", region: "eu-west-1" } });
const props: EtcdClusterProps = { clusterSize: 5, instanceType: new ec2.InstanceType("t4g.small") };
const cluster = new EtcdCluster(stack, "Etcd", props);
const packs = [new AwsSolutionsChecks(), new ServerlessChecks(), new NIST80053R5Checks()];
Validations.of(app).addPlugins(...packs);
const findings = packs.flatMap((pack) =>
  pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => v.ruleName + " " + r.constructPath)),
);
app.synth();
console.log(JSON.stringify({ findings, group: cluster.autoScalingGroupName !== "" }));
`;

let work: string;
let app: string;

before(() => {
  assert.ok(
    FUNCTION_NAMES.every((name) =>
      existsSync(path.join(REPO_ROOT, "dist", "lambdas", name, "lib", "index.js")),
    ),
    "dist/lambdas is not built: run `npm run build` first (scripts/test does, through `cdk synth`)",
  );
  work = mkdtempSync(path.join(tmpdir(), "etcd-asg-pack-"));
  app = path.join(work, "app");
  // The prepack script would rebuild the bundles under the other tests' feet: compile only the library.
  execFileSync(path.join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.package.json"], {
    cwd: REPO_ROOT,
  });
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    }),
  ) as { filename: string }[];
  const tarball = path.join(work, packed[0]?.filename ?? "");
  const installed = path.join(app, "node_modules", "etcd-asg");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  for (const name of LINKED) {
    symlinkSync(path.join(REPO_ROOT, "node_modules", name), path.join(app, "node_modules", name), "dir");
  }
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "user-app", private: true }));
  writeFileSync(path.join(app, "app.ts"), APP_SOURCE);
  writeFileSync(
    path.join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "node16",
        moduleResolution: "node16",
        strict: true,
        skipLibCheck: true,
        types: [],
      },
      files: ["app.ts"],
    }),
  );
});
after(() => rmSync(work, { recursive: true, force: true }));

test("the tarball holds the compiled library, the CLI, the bundles and the boot script, and no sources", () => {
  const installed = path.join(app, "node_modules", "etcd-asg");
  for (const file of [
    "dist/pkg/cdk/lib/index.js",
    "dist/pkg/cdk/lib/index.d.ts",
    "dist/pkg/cli/main.js",
    "bootstrap-script/etcd-asg-boot.sh",
    "cdk/lib/node-user-data.sh",
    ...FUNCTION_NAMES.map((name) => `dist/lambdas/${name}/lib/index.js`),
  ]) {
    assert.ok(existsSync(path.join(installed, file)), `${file} is not in the package`);
  }
  assert.equal(existsSync(path.join(installed, "cdk", "lib", "etcd-cluster.ts")), false);
  assert.equal(existsSync(path.join(installed, "lambdas")), false);
});

test("a user's TypeScript app typechecks against the package and synthesizes with no cdk-nag finding", () => {
  execFileSync(path.join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", "."], { cwd: app });
  const out = execFileSync(process.execPath, ["app.js"], { cwd: app, encoding: "utf8" });
  assert.deepEqual(JSON.parse(out.trim().split("\n").at(-1) ?? "{}"), { findings: [], group: true });
  const template = JSON.parse(readFileSync(path.join(app, "cdk.out", "UserStack.template.json"), "utf8")) as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  };
  const resources = Object.values(template.Resources);
  const group = resources.find((r) => r.Type === "AWS::AutoScaling::AutoScalingGroup");
  assert.equal(group?.Properties?.MaxSize, "5");
  assert.equal(
    resources.filter((r) => r.Type === "AWS::Lambda::Function").length >= FUNCTION_NAMES.length,
    true,
  );
  // The assets are the package's own files: the shipped boot script and a bundle of each function.
  const assets = readdirSync(path.join(app, "cdk.out")).filter((f) => f.startsWith("asset."));
  const bootScript = readFileSync(path.join(REPO_ROOT, "bootstrap-script", "etcd-asg-boot.sh"), "utf8");
  assert.ok(
    assets.some(
      (a) => a.endsWith(".sh") && readFileSync(path.join(app, "cdk.out", a), "utf8") === bootScript,
    ),
    "the boot script asset is not the shipped boot script",
  );
  for (const name of FUNCTION_NAMES) {
    const bundle = readFileSync(path.join(REPO_ROOT, "dist", "lambdas", name, "lib", "index.js"), "utf8");
    assert.ok(
      assets.some((a) => {
        const file = path.join(app, "cdk.out", a, "lib", "index.js");
        return existsSync(file) && readFileSync(file, "utf8") === bundle;
      }),
      `no asset holds the ${name} bundle`,
    );
  }
});
