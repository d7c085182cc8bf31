// The ready app behind `npx cdk synth` / `npx cdk deploy`: one EtcdAsgStack, checked at synth by
// cdk-nag's AwsSolutions, Serverless and NIST 800-53 R5 packs; a finding that is not acknowledged
// (cdk/lib/nag-acknowledgements.ts) fails the synth.
//
// Account and region: those of your AWS credentials when the CLI finds them (CDK_DEFAULT_*); without
// credentials, the `etcd-asg:offlineAccount` / `etcd-asg:offlineRegion` context of cdk.json, whose
// availability zones cdk.json also holds, so `npx cdk synth` works offline.
// Context `etcd-asg:clusterSize` (3, 5 or 7) sets the size: `npx cdk deploy -c etcd-asg:clusterSize=5`.
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from "cdk-nag";
import { EtcdAsgStack } from "../lib/etcd-asg-stack";

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined ? undefined : String(value);
};
const clusterSize = context("etcd-asg:clusterSize");

new EtcdAsgStack(app, "EtcdAsg", {
  description: "etcd cluster in an Auto Scaling Group with membership kept by a serverless control plane",
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT ?? context("etcd-asg:offlineAccount"),
    region: process.env.CDK_DEFAULT_REGION ?? context("etcd-asg:offlineRegion"),
  },
  cluster: clusterSize === undefined ? {} : { clusterSize: Number(clusterSize) },
});

Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app),
  new ServerlessChecks(app),
  new NIST80053R5Checks(app),
);
