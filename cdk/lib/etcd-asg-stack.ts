// The deployable stack: one EtcdCluster and the outputs an operator needs to find and use it.
import { CfnOutput, CfnResource, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { ignoreCfnLintChecks, REDUNDANT_ROLE_DEPENDENCY } from "./cfn-lint-suppressions";
import { ETCD_CLIENT_PORT } from "./cluster-network";
import { EtcdCluster, type EtcdClusterProps } from "./etcd-cluster";

export interface EtcdAsgStackProps extends StackProps {
  /**
   * Props of the cluster.
   * @default the EtcdCluster defaults
   */
  readonly cluster?: EtcdClusterProps;
}

export class EtcdAsgStack extends Stack {
  readonly cluster: EtcdCluster;

  constructor(scope: Construct, id: string, props: EtcdAsgStackProps = {}) {
    super(scope, id, props);
    this.cluster = new EtcdCluster(this, "Cluster", props.cluster);
    const { autoScalingGroupName } = this.cluster;

    // The instances' IPs behind the client name, for when DNS is in doubt: they change whenever the
    // group replaces an instance, so they are the answer to a query, not a value CloudFormation holds.
    new CfnOutput(this, "ClientEndpointsCommand", {
      description:
        "Not the endpoints: a command that prints the etcd client URL of each running node now (IPs change on replacement)",
      value:
        `aws ec2 describe-instances --region ${this.region} ` +
        `--filters Name=tag:aws:autoscaling:groupName,Values=${autoScalingGroupName} Name=instance-state-name,Values=running ` +
        `--query 'Reservations[].Instances[].PrivateIpAddress' --output text | tr -s '[:space:]' '\\n' | ` +
        `sed 's|.*|http://&:${ETCD_CLIENT_PORT}|'`,
    });
    new CfnOutput(this, "ClientDnsName", {
      description:
        "The cluster's client name (private zone, in the VPC): etcdctl --endpoints https://<this>:2379, or --discovery-srv <this>",
      value: this.cluster.clientEndpoint.name,
    });
    new CfnOutput(this, "HostedZoneId", { value: this.cluster.clientEndpoint.hostedZone.hostedZoneId });
    new CfnOutput(this, "AutoScalingGroupName", { value: autoScalingGroupName });
    new CfnOutput(this, "LedgerTableName", { value: this.cluster.ledgerTable.tableName });
    new CfnOutput(this, "NodeApiUrl", { value: this.cluster.nodeApiUrl });
    new CfnOutput(this, "ReconcilerFunctionName", {
      description: "Invoke it to reconcile now: aws lambda invoke --function-name <this> /dev/stdout",
      value: this.cluster.reconciler.functionName,
    });
    new CfnOutput(this, "ClientCertFunctionName", {
      description:
        "Issues etcd client certificates: npx etcd-asg client-cert --stack <stack> --user <name> --csr <file>",
      value: this.cluster.clientCertFunction.functionName,
    });
    new CfnOutput(this, "SnapshotFunctionName", {
      description: "Takes and lists etcd snapshots: npx etcd-asg snapshot --stack <stack>",
      value: this.cluster.snapshotFunction.functionName,
    });
    new CfnOutput(this, "SnapshotBucketName", { value: this.cluster.snapshotBucket.bucketName });
    new CfnOutput(this, "AlarmTopicArn", {
      description: "Subscribe to it to receive the alarms and scaling notifications",
      value: this.cluster.alarmTopic.topicArn,
    });

    // Every function in the stack, CDK's own custom-resource handlers included.
    for (const construct of this.node.findAll()) {
      if (CfnResource.isCfnResource(construct) && construct.cfnResourceType === "AWS::Lambda::Function") {
        ignoreCfnLintChecks(construct, REDUNDANT_ROLE_DEPENDENCY);
      }
    }
  }
}
