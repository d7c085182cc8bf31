// The ready app behind `npx cdk synth` / `npx cdk deploy`: one EtcdAsgStack, checked at synth by
// cdk-nag's AwsSolutions, Serverless and NIST 800-53 R5 packs; a finding that is not acknowledged
// (cdk/lib/nag-acknowledgements.ts) fails the synth.
//
// Account and region: those of your AWS credentials when the CLI finds them (CDK_DEFAULT_*); without
// credentials, the `etcd-asg:offlineAccount` / `etcd-asg:offlineRegion` context of cdk.json, whose
// availability zones cdk.json also holds, so `npx cdk synth` works offline.
// Context `etcd-asg:clusterSize` (3, 5 or 7) sets the size: `npx cdk deploy -c etcd-asg:clusterSize=5`;
// `etcd-asg:etcdVersion` (with `etcd-asg:etcdSha256` for a release cdk/lib/etcd-release.ts does not
// know) and `etcd-asg:instanceType` change the nodes, which a deploy then rolls (docs/operations.md);
// `etcd-asg:joinStrategy` changes only the control plane's functions.
import { App, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from "cdk-nag";
import type { JoinStrategy } from "../../lambdas/domain/snapshot";
import { EtcdAsgStack } from "../lib/etcd-asg-stack";

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined ? undefined : String(value);
};
const clusterSize = context("etcd-asg:clusterSize");
const etcdVersion = context("etcd-asg:etcdVersion");
const etcdSha256 = context("etcd-asg:etcdSha256");
const instanceType = context("etcd-asg:instanceType");
const joinStrategy = context("etcd-asg:joinStrategy");

new EtcdAsgStack(app, "EtcdAsg", {
  description: "etcd cluster in an Auto Scaling Group with membership kept by a serverless control plane",
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT ?? context("etcd-asg:offlineAccount"),
    region: process.env.CDK_DEFAULT_REGION ?? context("etcd-asg:offlineRegion"),
  },
  cluster: {
    ...(clusterSize === undefined ? {} : { clusterSize: Number(clusterSize) }),
    ...(etcdVersion === undefined ? {} : { etcdVersion }),
    ...(etcdSha256 === undefined ? {} : { etcdSha256 }),
    ...(instanceType === undefined ? {} : { instanceType: new ec2.InstanceType(instanceType) }),
    // Checked against the strategies by the construct, which names the valid ones.
    ...(joinStrategy === undefined ? {} : { joinStrategy: joinStrategy as JoinStrategy }),
  },
});

Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app),
  new ServerlessChecks(app),
  new NIST80053R5Checks(app),
);
