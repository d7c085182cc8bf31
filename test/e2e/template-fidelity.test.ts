// The simulator runs the template `cdk deploy` would deploy, so a flaw in the template shows in a
// simulator run as it would in AWS: each test breaks one thing in a copy of the synthesized template
// and starts the simulator on that copy.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import type { LifecycleEvent } from "../../local/aws/types";
import { synthesize } from "../../local/stack/synth";
import type { Template } from "../../local/stack/template";
import { startSimulator } from "./simulator-bed";

type MutableTemplate = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

/** A copy of the app's template for size 3, changed by `edit`, and where its assets are. */
async function brokenTemplate(
  t: TestContext,
  edit: (template: MutableTemplate) => void,
): Promise<{ template: string; assetsDir: string }> {
  const { templatePath, assetsDir } = await synthesize({ "etcd-asg:clusterSize": "3" });
  const template = JSON.parse(readFileSync(templatePath, "utf8")) as MutableTemplate;
  edit(template);
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-template-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "EtcdAsg.template.json");
  writeFileSync(path, JSON.stringify(template satisfies Template));
  return { template: path, assetsDir };
}

function resourceWhere(
  template: MutableTemplate,
  type: string,
  test: (props: Record<string, unknown>) => boolean,
) {
  const found = Object.values(template.Resources).filter((r) => r.Type === type && test(r.Properties));
  assert.equal(found.length, 1, `one ${type} matches`);
  return found[0] as { Properties: Record<string, unknown> };
}

const taggedFunction = (template: MutableTemplate, name: string) =>
  resourceWhere(template, "AWS::Lambda::Function", (props) =>
    ((props.Tags ?? []) as Array<{ Key: string; Value: string }>).some(
      (tag) => tag.Key === "etcd-asg:function" && tag.Value === name,
    ),
  );

test("a launch rule whose detail-type AWS never sends delivers no launch event", async (t) => {
  const given = await brokenTemplate(t, (template) => {
    const rule = resourceWhere(template, "AWS::Events::Rule", (props) =>
      JSON.stringify(props.EventPattern ?? {}).includes("EC2 Instance-launch Lifecycle Action"),
    );
    (rule.Properties.EventPattern as { "detail-type": string[] })["detail-type"] = [
      "EC2 Instance Launch Lifecycle Action",
    ];
  });
  // No reconcile schedule: it would finish the launches whose events were lost.
  const sim = await startSimulator(t, { ...given, reconcileIntervalMs: 0 });
  const emitted: LifecycleEvent[] = [];
  sim.emulator.onLifecycleEvent((event) => {
    emitted.push(event);
  });
  await sim.waitFor(
    "the three launches to wait in Pending:Wait",
    () => sim.instances("Pending:Wait").length === 3,
  );
  // Events reach subscribers asynchronously: give delivery time to (not) happen.
  await sim.waitFor("the launch events to be emitted", () => emitted.length === 3, 5000);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.equal(sim.fn("launch-hook").invocations, 0, "the launch hook never ran");
  assert.deepEqual(
    sim.events.records.filter((r) => r.event["detail-type"] === "EC2 Instance-launch Lifecycle Action"),
    [],
  );
});

test("a function whose template forgets a variable it requires fails its cold start naming the variable", async (t) => {
  const given = await brokenTemplate(t, (template) => {
    const fn = taggedFunction(template, "launch-hook");
    delete (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.LEDGER_TABLE;
  });
  const sim = await startSimulator(t, { ...given, reconcileIntervalMs: 0 });
  await sim.waitFor(
    "the launch events to be given up on after Lambda's retries",
    () => sim.events.records.filter((r) => r.outcome === "failed").length === 3,
    30_000,
  );
  const failure = sim.events.records.find((r) => r.outcome === "failed");
  assert.match(String(failure?.detail), /Runtime\.ExitError/);
  const log = readFileSync(join(sim.root, "lambda-logs", "launch-hook.log"), "utf8");
  assert.match(
    log,
    /ERROR\tUncaught Exception \t\{"errorType":"ConfigError","errorMessage":"environment variable LEDGER_TABLE is invalid/,
  );
  assert.equal(sim.events.deadLetters.length, 3, "each event went to the function's dead-letter queue");
});

test("a role without autoscaling:CompleteLifecycleAction: the launch fails with AccessDenied naming the action and the role; the template as synthesized converges", async (t) => {
  const given = await brokenTemplate(t, (template) => {
    for (const role of Object.values(template.Resources).filter((r) => r.Type === "AWS::IAM::Role")) {
      for (const policy of (role.Properties.Policies ?? []) as Array<{
        PolicyDocument: { Statement: Array<{ Action: string | string[] }> };
      }>) {
        for (const statement of policy.PolicyDocument.Statement) {
          if (Array.isArray(statement.Action)) {
            statement.Action = statement.Action.filter(
              (action) => action !== "autoscaling:CompleteLifecycleAction",
            );
          }
        }
      }
    }
  });
  const broken = await startSimulator(t, { ...given, reconcileIntervalMs: 0 });
  const denial = () =>
    broken.iam.refusals.find(
      (r) => r.kind === "denied" && r.check.action === "autoscaling:CompleteLifecycleAction",
    );
  await broken.waitFor("a CompleteLifecycleAction to be refused", () => denial() !== undefined, 60_000);
  const refused = denial();
  assert.ok(refused?.kind === "denied");
  const nodeApiRole = broken.stack.functions
    .find((f) => f.role === "node-api")
    ?.roleArn.split("/")
    .at(-1);
  assert.match(refused.principalArn, new RegExp(`:assumed-role/${nodeApiRole}/`));
  // The function logs the error it got once the call returns: wait for the line.
  const denied = new RegExp(
    `AccessDenied.*User: arn:aws:sts::123456789012:assumed-role/${nodeApiRole}/\\S+ is not authorized to perform: autoscaling:CompleteLifecycleAction`,
  );
  await broken.waitFor("node-api to log the AccessDenied", () =>
    denied.test(readFileSync(join(broken.root, "lambda-logs", "node-api.log"), "utf8")),
  );
  assert.equal(broken.instances("InService").length, 0, "no launch completed");

  const sound = await startSimulator(t, { size: 3 });
  await sound.waitConverged(120_000);
  assert.deepEqual(
    sound.iam.refusals.filter((r) => r.kind === "denied"),
    [],
    "the synthesized template's roles are refused nothing",
  );
});
