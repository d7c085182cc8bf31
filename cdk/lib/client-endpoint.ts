// The cluster's client name: its Route 53 private hosted zone (new, or the imported one) and what the
// control plane needs to keep the name's records there — the zone and the name in the environment of
// every function (CLIENT_DNS_NAME also makes the node API put the name in server certificates), and
// for the functions that keep the records (the ready flow in the node API, the terminate hook, the
// reconciler) a statement that lets them list the zone and change only A and SRV records at and
// under the name.
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as route53 from "aws-cdk-lib/aws-route53";
import { Construct } from "constructs";
import type { ResolvedProps } from "./etcd-cluster-props";

export interface ClientEndpointProps {
  readonly config: ResolvedProps;
  readonly vpc: ec2.IVpc;
  /** Every control-plane function: each issues or checks certificates naming the client name. */
  readonly functions: readonly lambda.Function[];
  /** The functions whose flows keep the records, and their roles. */
  readonly keepers: readonly { readonly fn: lambda.Function; readonly role: iam.Role }[];
}

export class ClientEndpoint extends Construct {
  readonly hostedZone: route53.IHostedZone;
  /** The name clients resolve, e.g. `etcd.my-cluster.etcd.internal`. */
  readonly name: string;

  constructor(scope: Construct, id: string, props: ClientEndpointProps) {
    super(scope, id);
    const { config } = props;
    this.name = config.clientDnsName;
    this.hostedZone =
      config.hostedZone ??
      new route53.PrivateHostedZone(this, "Zone", {
        zoneName: config.zoneName ?? config.clientDnsName,
        vpc: props.vpc,
        comment: `etcd-asg ${config.clusterName}: ${config.clientDnsName} lists the started etcd voters`,
      });
    for (const fn of props.functions) fn.addEnvironment("CLIENT_DNS_NAME", this.name);
    for (const { fn, role } of props.keepers) {
      fn.addEnvironment("HOSTED_ZONE_ID", this.hostedZone.hostedZoneId);
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: "ReadClientNameRecords",
          actions: ["route53:ListResourceRecordSets"],
          resources: [this.hostedZone.hostedZoneArn],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: "KeepClientNameRecords",
          actions: ["route53:ChangeResourceRecordSets"],
          resources: [this.hostedZone.hostedZoneArn],
          conditions: {
            "ForAllValues:StringEquals": {
              "route53:ChangeResourceRecordSetsRecordTypes": ["A", "SRV"],
              "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
            },
            "ForAllValues:StringLike": {
              "route53:ChangeResourceRecordSetsNormalizedRecordNames": [this.name, `*.${this.name}`],
            },
          },
        }),
      );
    }
  }
}
