// The field's own checkers on the synthesized stack: cdk-nag's AwsSolutions pack finds nothing that
// is not acknowledged with a reason, and cfn-lint finds no error and no warning (scripts/cfn-lint,
// which says "skipped" when cfn-lint is not installed).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { type Fixture, makeFixture, type Synthesized, synthesize } from "./synth-fixture";

const CFN_LINT = path.resolve(__dirname, "..", "..", "scripts", "cfn-lint");

let fixture: Fixture;
let synthesized: Synthesized;

before(() => {
  fixture = makeFixture();
  synthesized = synthesize(fixture);
});
after(() => fixture.remove());

test("cdk-nag AwsSolutions reports no unacknowledged finding", () => {
  const report = new AwsSolutionsChecks().validateScope(synthesized.app);
  const findings = report.violations.map(
    (v) => `${v.ruleName} (${v.severity}): ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
  );
  assert.deepEqual(findings, []);
});

test("acknowledges AwsSolutions findings one by one, each with a reason", () => {
  const acknowledged = synthesized.app.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.entries(m.data as Record<string, string>))
    .filter(([id]) => id.includes("AwsSolutions-"));
  assert.deepEqual(acknowledged.map(([id]) => id.replace(/^Annotation::/, "")).sort(), [
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-IAM5[Resource::arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/EtcdAsg-Cluster]",
    "AwsSolutions-L1",
  ]);
  for (const [id, reason] of acknowledged) {
    assert.ok(reason.length > 80, `acknowledgement ${id} gives a reason: ${reason}`);
  }
});

test("cfn-lint reports no error and no warning on the synthesized template", (t) => {
  const output = execFileSync(CFN_LINT, [synthesized.templatePath], { encoding: "utf8" });
  if (output.startsWith("skipped:")) {
    t.skip(output.trim());
    return;
  }
  assert.match(output, /cfn-lint: 0 errors, 0 warnings in 1 template\(s\)/);
});
