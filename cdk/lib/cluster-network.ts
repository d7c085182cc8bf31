// The network the cluster lives in: the VPC (new or imported) and the two security groups whose rules
// are the whole firewall of etcd — 2380 only between nodes, 2379 only from nodes, the control-plane
// Lambdas and the clients the operator names, nothing from 0.0.0.0/0.
import { type CfnResource, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { CONTEXT_AVAILABILITY_ZONE, ignoreCfnLintChecks } from "./cfn-lint-suppressions";
import type { ResolvedProps } from "./etcd-cluster-props";

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export interface ClusterNetworkProps {
  readonly vpc: ec2.IVpc | undefined;
  readonly config: ResolvedProps;
}

export class ClusterNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  /** Attached to every etcd node. */
  readonly nodeSecurityGroup: ec2.SecurityGroup;
  /** Attached to the control-plane Lambdas, which reach the nodes' client port. */
  readonly lambdaSecurityGroup: ec2.SecurityGroup;
  /** What the construct created for a new VPC (undefined with an imported one). */
  readonly created: CreatedVpc | undefined;

  constructor(scope: Construct, id: string, props: ClusterNetworkProps) {
    super(scope, id);
    const { config } = props;
    this.created = props.vpc === undefined ? this.newVpc(config) : undefined;
    this.vpc = props.vpc ?? (this.created as CreatedVpc).vpc;

    this.nodeSecurityGroup = new ec2.SecurityGroup(this, "NodeSecurityGroup", {
      vpc: this.vpc,
      description:
        "etcd nodes: peer 2380 from nodes only; client 2379 from nodes, control plane and named clients",
      allowAllOutbound: false,
    });
    this.lambdaSecurityGroup = new ec2.SecurityGroup(this, "LambdaSecurityGroup", {
      vpc: this.vpc,
      description: "etcd-asg control-plane Lambdas: reach etcd client port 2379 and the AWS APIs",
      allowAllOutbound: false,
    });

    const nodes = this.nodeSecurityGroup;
    const client = ec2.Port.tcp(ETCD_CLIENT_PORT);
    const peer = ec2.Port.tcp(ETCD_PEER_PORT);
    nodes.addIngressRule(nodes, peer, "etcd peer traffic between nodes");
    nodes.addIngressRule(nodes, client, "etcd clients on other nodes (health checks, etcdctl)");
    nodes.addIngressRule(this.lambdaSecurityGroup, client, "control-plane Lambdas manage membership");
    for (const group of config.clientSecurityGroups) {
      nodes.addIngressRule(group, client, "etcd clients named by clientSecurityGroups");
    }
    for (const cidr of config.clientCidrs) {
      nodes.addIngressRule(ec2.Peer.ipv4(cidr), client, `etcd clients in ${cidr} (clientCidrs)`);
    }
    nodes.addEgressRule(nodes, peer, "etcd peer traffic between nodes");
    nodes.addEgressRule(nodes, client, "etcd client calls to other nodes");
    // HTTPS is how a node reaches the node API (function URL), the etcd release download, and the
    // package mirrors; their addresses are not fixed, so the destination cannot be narrowed.
    nodes.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      "HTTPS to the node API, AWS APIs and etcd download",
    );

    this.lambdaSecurityGroup.addEgressRule(nodes, client, "etcd client API of the nodes");
    this.lambdaSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), "HTTPS to the AWS APIs");
  }

  private newVpc(config: ResolvedProps): CreatedVpc {
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 3,
      natGateways: config.natGateways,
      subnetConfiguration: [
        // The public subnets hold the NAT gateways (with their Elastic IPs) and nothing else: an
        // interface launched there gets no public address of its own.
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: "private", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // The ledger traffic stays off the NAT gateway (and its per-GB charge); the endpoint is free.
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
      // The default security group admits and lets out nothing, whatever the app's feature flags
      // (cdk.json sets @aws-cdk/aws-ec2:restrictDefaultSecurityGroup; an app that uses the construct
      // may not).
      restrictDefaultSecurityGroup: true,
    });
    // Rejected flows only: they are what an operator needs when a port is wrongly closed, at a
    // fraction of the volume of all traffic.
    const flowLogGroup = new logs.LogGroup(this, "FlowLogs", {
      retention: config.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const flowLog = vpc.addFlowLog("RejectedFlows", {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
    });
    for (const subnet of [...vpc.publicSubnets, ...vpc.privateSubnets]) {
      ignoreCfnLintChecks(subnet.node.defaultChild as CfnResource, CONTEXT_AVAILABILITY_ZONE);
    }
    return {
      vpc,
      publicSubnets: vpc.publicSubnets as ec2.PublicSubnet[],
      flowLogGroup,
      flowLogRole: flowLog.iamRole,
    };
  }
}

/** A new VPC and the parts of it cdk-nag's findings are acknowledged on. */
export interface CreatedVpc {
  readonly vpc: ec2.Vpc;
  /** Each holds a route to the internet gateway (0.0.0.0/0) for the NAT gateways. */
  readonly publicSubnets: readonly ec2.PublicSubnet[];
  readonly flowLogGroup: logs.LogGroup;
  /** CDK's role for the flow log: logs:CreateLogStream and PutLogEvents on the flow log group. */
  readonly flowLogRole: iam.IRole | undefined;
}
