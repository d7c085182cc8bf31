// The EtcdCluster construct's props, their defaults, and the checks that turn a wrong value into an
// error naming the prop, the value received and what to change — before any resource is created.
import { existsSync } from "node:fs";
import * as path from "node:path";
import { Duration, Size, Token } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as route53 from "aws-cdk-lib/aws-route53";
import type * as sns from "aws-cdk-lib/aws-sns";
import { minTerminateHeartbeatSeconds } from "../../lambdas/domain/lock-timing";
import { DEFAULT_CLUSTER_SIZES } from "../../lambdas/domain/policy";
import { JOIN_STRATEGIES, type JoinStrategy } from "../../lambdas/domain/snapshot";
import { type DurabilityProps, type ResolvedDurability, resolveDurability } from "./durability-props";
import { ETCD_RELEASE_SHA256 } from "./etcd-release";
import { FUNCTION_NAMES } from "./function-tag";
import { PACKAGE_ROOT } from "./package-root";
import { EtcdClusterPropsError } from "./props-error";

/** How often the reconciler runs (its EventBridge schedule). */
export const RECONCILE_PERIOD = Duration.minutes(1);

export type { DurabilityProps, SnapshotRetention } from "./durability-props";
export { FUNCTION_NAMES, type FunctionName } from "./function-tag";
export { EtcdClusterPropsError } from "./props-error";

/** Snapshots and disaster recovery's props are in DurabilityProps (durability-props.ts). */
export interface EtcdClusterProps extends DurabilityProps {
  /**
   * Voting members the cluster is meant to have; also the Auto Scaling Group's min and max size.
   * @default 3
   */
  readonly clusterSize?: number;
  /**
   * How a new node joins a full cluster (elastic-etcd's strategies): `prepare`, `add`, `replace`
   * (remove one dead member only when the cluster is full, then add) or `prune`.
   * @default "replace"
   */
  readonly joinStrategy?: JoinStrategy;
  /**
   * The name the Lambdas log and emit metrics under (dimension `ClusterName`), and the Auto Scaling
   * Group's name. Letters, digits and hyphens, at most 100 characters.
   * @default `${stackName}-${id}`
   */
  readonly clusterName?: string;
  /**
   * EC2 instance type of the nodes; x86 and Graviton both work (the AMI follows the architecture).
   * @default m6g.large (Graviton, 2 vCPU, 8 GiB: etcd's recommended small-cluster shape)
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * The nodes' image. The default resolves the latest Amazon Linux 2023 for the instance type's
   * architecture from its public SSM parameter at every deploy, so a deploy after Amazon publishes a
   * new image rolls the nodes onto it (OS patches reach every node, at the price of a roll on a deploy
   * that changes nothing else). Pin an image (`ec2.MachineImage.genericLinux({ region: "ami-…" })`) to
   * roll only when you change it; you then own patching (docs/operations.md).
   * @default the latest Amazon Linux 2023, resolved at each deploy
   */
  readonly machineImage?: ec2.IMachineImage;
  /**
   * etcd release the boot script installs, as `MAJOR.MINOR.PATCH` without a leading `v`.
   * @default "3.5.21"
   */
  readonly etcdVersion?: string;
  /**
   * SHA-256 of `etcd-v<etcdVersion>-linux-<amd64|arm64>.tar.gz` for the instance type's architecture
   * (from the release's SHA256SUMS); the boot script refuses a download that does not match.
   * @default the digest in cdk/lib/etcd-release.ts (known for the default etcdVersion)
   */
  readonly etcdSha256?: string;
  /**
   * The VPC to run in. A new one has a public and a private subnet per AZ (up to 3 AZs), NAT, a
   * DynamoDB gateway endpoint and a flow log of rejected traffic. An imported VPC must give the
   * selected subnets a route to the AWS APIs and to the etcd download (NAT or endpoints).
   * @default a new VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * NAT gateways of the new VPC (ignored with `vpc`). One is cheapest; one per AZ survives an AZ
   * outage for boots and control-plane calls.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * Subnets for the nodes and the Lambdas; they should span at least 3 AZs.
   * @default the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Size of each node's etcd data volume (gp3, encrypted), mounted at /var/lib/etcd.
   * @default Size.gibibytes(20)
   */
  readonly dataVolumeSize?: Size;
  /**
   * Security groups whose members may reach the etcd client port 2379.
   * @default none (only the nodes and the control-plane Lambdas)
   */
  readonly clientSecurityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * IPv4 CIDRs that may reach the etcd client port 2379. `0.0.0.0/0` is refused.
   * @default none
   */
  readonly clientCidrs?: readonly string[];
  /**
   * How long a launching instance waits in `Pending:Wait` for the control plane before the ASG
   * ABANDONs it (30 s to 2 h). It must cover boot, the etcd download and the learner catching up.
   * @default Duration.minutes(15)
   */
  readonly launchHeartbeatTimeout?: Duration;
  /**
   * How long a terminating instance waits in `Terminating:Wait` between heartbeats (130 s to 2 h).
   * A removal that would lose quorum is held by heartbeats from the control plane. At least a
   * reconcile period (60 s), two waits for the membership lock (20 s each) and a pass's work (30 s):
   * the longest gap between two heartbeats on an action the control plane cannot act on yet, so it
   * never times out into CONTINUE while its instance is a voter.
   * @default Duration.minutes(10)
   */
  readonly terminateHeartbeatTimeout?: Duration;
  /**
   * How long a node's peer and server certificates live. Nodes renew them at two thirds of it, so
   * a node cut off from the control plane for a third of it keeps serving; a leaked key is good for
   * at most this long. From 1 hour to 90 days.
   * @default Duration.days(7)
   */
  readonly certificateLifetime?: Duration;
  /**
   * The Route 53 private hosted zone of the client name (docs/client-endpoint.md): the control plane
   * keeps the name's A records (the started voters) and etcd's SRV discovery records in it. An
   * imported zone must be private and associated with the cluster's VPC; records of its own outside
   * `clientDnsName` are never touched.
   * @default a new private zone `<clusterName, lowercase>.etcd.internal` in the cluster's VPC
   */
  readonly hostedZone?: route53.IHostedZone;
  /**
   * The cluster's client name, in `hostedZone`: what clients resolve and what every server
   * certificate names. Lowercase letters, digits, hyphens and dots, at most 233 characters (the SRV
   * targets `<instance-id>.<name>` must fit DNS's 253).
   * @default `etcd.<the zone's name>`
   */
  readonly clientDnsName?: string;
  /**
   * How long a voter's etcd may stay silent on an InService instance before the control plane sets
   * the instance Unhealthy and the group replaces it (docs/health.md). It must outlast a restart by
   * systemd (5 s and etcd's start) and cover two reconcile passes. From 2 minutes to 1 hour.
   * @default Duration.minutes(3)
   */
  readonly healthGracePeriod?: Duration;
  /**
   * When the reconciler defragments the members whose db file has space worth reclaiming (at least
   * 64 MiB and 25% free), one at a time, the leader last (docs/health.md). A defragmentation blocks
   * the member's reads and writes while it runs: choose an off-peak time with
   * `Schedule.cron({ hour: "3", minute: "0" })` (the simulator runs only `rate` schedules). No more
   * often than hourly.
   * @default Schedule.rate(Duration.days(1))
   */
  readonly defragmentationSchedule?: events.Schedule;
  /**
   * Where the alarms and the ASG's scaling notifications go.
   * @default a new SNS topic (subscribe to it after deploy)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Retention of the Lambdas' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Folder holding one bundle per function (`<dir>/<name>/lib/index.js` and `<dir>/<name>/proto/`).
   * @default the bundles the package ships (`dist/lambdas`; in a clone of the repository, written by
   * `npm run build`)
   */
  readonly lambdaBundlesDir?: string;
  /**
   * The boot script the user data installs as /usr/local/sbin/etcd-asg-boot.
   * @default the boot script the package ships (`bootstrap-script/etcd-asg-boot.sh`)
   */
  readonly bootScriptPath?: string;
}

/** Props with every default applied and every value checked. */
export interface ResolvedProps {
  readonly clusterSize: number;
  readonly joinStrategy: JoinStrategy;
  readonly clusterName: string;
  readonly instanceType: ec2.InstanceType;
  readonly etcdVersion: string;
  readonly etcdSha256: string;
  readonly natGateways: number;
  readonly dataVolumeGiB: number;
  readonly clientSecurityGroups: readonly ec2.ISecurityGroup[];
  readonly clientCidrs: readonly string[];
  readonly launchHeartbeatTimeout: Duration;
  readonly terminateHeartbeatTimeout: Duration;
  readonly certificateLifetime: Duration;
  /** The imported zone; undefined: the construct creates `zoneName`. */
  readonly hostedZone: route53.IHostedZone | undefined;
  /** Undefined only for an imported zone given with clientDnsName. */
  readonly zoneName: string | undefined;
  readonly clientDnsName: string;
  readonly healthGracePeriod: Duration;
  readonly defragmentationSchedule: events.Schedule;
  readonly durability: ResolvedDurability;
  readonly logRetention: logs.RetentionDays;
  readonly lambdaBundlesDir: string;
  readonly bootScriptPath: string;
}

/** Applies the defaults and checks every prop; `defaultClusterName` is `${stackName}-${id}`. */
export function resolveProps(props: EtcdClusterProps, defaultClusterName: string): ResolvedProps {
  const clusterSize = props.clusterSize ?? 3;
  if (!DEFAULT_CLUSTER_SIZES.includes(clusterSize)) {
    fail(
      `clusterSize must be one of ${DEFAULT_CLUSTER_SIZES.join(", ")} (an odd size keeps a majority ` +
        `through one, two or three failures); received ${JSON.stringify(clusterSize)}`,
    );
  }
  const joinStrategy = props.joinStrategy ?? "replace";
  if (!JOIN_STRATEGIES.includes(joinStrategy)) {
    fail(
      `joinStrategy must be one of ${JOIN_STRATEGIES.join(", ")}; received ${JSON.stringify(joinStrategy)}`,
    );
  }
  const clusterName = props.clusterName ?? defaultClusterName;
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/.test(clusterName)) {
    fail(
      `clusterName must be 1 to 100 letters, digits or hyphens, starting with a letter or digit ` +
        `(it names the Auto Scaling Group); received ${JSON.stringify(clusterName)}`,
    );
  }
  const etcdVersion = props.etcdVersion ?? "3.5.21";
  if (!/^3\.\d+\.\d+$/.test(etcdVersion)) {
    fail(
      `etcdVersion must be an etcd 3 release as MAJOR.MINOR.PATCH without a leading "v", e.g. "3.5.21"; received ${JSON.stringify(etcdVersion)}`,
    );
  }
  const instanceType =
    props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.M6G, ec2.InstanceSize.LARGE);
  const natGateways = props.natGateways ?? 1;
  if (!Number.isInteger(natGateways) || natGateways < 1 || natGateways > 3) {
    fail(
      `natGateways must be an integer from 1 to 3 (the private subnets need NAT to reach the AWS APIs ` +
        `and the etcd download); received ${JSON.stringify(natGateways)}`,
    );
  }
  if (props.vpc !== undefined && props.natGateways !== undefined) {
    fail("natGateways applies only to the VPC the construct creates; remove it or remove vpc");
  }
  return {
    clusterSize,
    joinStrategy,
    clusterName,
    instanceType,
    etcdVersion,
    etcdSha256: etcdSha256(props.etcdSha256, etcdVersion, instanceType),
    natGateways,
    dataVolumeGiB: dataVolumeGiB(props.dataVolumeSize ?? Size.gibibytes(20)),
    clientSecurityGroups: props.clientSecurityGroups ?? [],
    clientCidrs: (props.clientCidrs ?? []).map(clientCidr),
    launchHeartbeatTimeout: heartbeat(
      "launchHeartbeatTimeout",
      props.launchHeartbeatTimeout ?? Duration.minutes(15),
    ),
    terminateHeartbeatTimeout: heartbeat(
      "terminateHeartbeatTimeout",
      props.terminateHeartbeatTimeout ?? Duration.minutes(10),
      minTerminateHeartbeatSeconds(RECONCILE_PERIOD.toSeconds()),
    ),
    certificateLifetime: certificateLifetime(props.certificateLifetime ?? Duration.days(7)),
    ...clientName(props, clusterName),
    healthGracePeriod: healthGracePeriod(props.healthGracePeriod ?? Duration.minutes(3)),
    defragmentationSchedule: defragmentationSchedule(
      props.defragmentationSchedule ?? events.Schedule.rate(Duration.days(1)),
    ),
    durability: resolveDurability(props),
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    lambdaBundlesDir: lambdaBundlesDir(props.lambdaBundlesDir ?? path.join(PACKAGE_ROOT, "dist", "lambdas")),
    bootScriptPath: bootScriptPath(
      props.bootScriptPath ?? path.join(PACKAGE_ROOT, "bootstrap-script", "etcd-asg-boot.sh"),
    ),
  };
}

/**
 * The zone's name and the client name in it. An imported zone's name is read only when the client
 * name is not given (a zone imported by ID alone has none), and checked against only when known.
 */
function clientName(
  props: EtcdClusterProps,
  clusterName: string,
): { hostedZone: route53.IHostedZone | undefined; zoneName: string | undefined; clientDnsName: string } {
  const { hostedZone } = props;
  const zoneName =
    hostedZone === undefined
      ? `${clusterName.toLowerCase()}.etcd.internal`
      : props.clientDnsName === undefined
        ? hostedZone.zoneName.replace(/\.$/, "")
        : undefined;
  const known = zoneName !== undefined && !Token.isUnresolved(zoneName);
  if (props.clientDnsName === undefined && !known) {
    fail(
      "clientDnsName is required when hostedZone's name is not known at synth (a token): give the full name",
    );
  }
  const clientDnsName = props.clientDnsName ?? `etcd.${zoneName}`;
  if (
    clientDnsName.length > 233 ||
    !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(clientDnsName)
  ) {
    fail(
      `clientDnsName must be a DNS name of lowercase letters, digits and hyphens, at least two labels, at most ` +
        `233 characters (its SRV targets <instance-id>.<name> must fit 253); received ${JSON.stringify(clientDnsName)}`,
    );
  }
  if (known && clientDnsName !== zoneName && !clientDnsName.endsWith(`.${zoneName}`)) {
    fail(
      `clientDnsName must be in hostedZone (${zoneName}): received ${JSON.stringify(clientDnsName)}; ` +
        `use a name ending in .${zoneName}`,
    );
  }
  return { hostedZone, zoneName, clientDnsName };
}

function fail(message: string): never {
  throw new EtcdClusterPropsError(message);
}

function dataVolumeGiB(size: Size): number {
  const gib = size.toMebibytes() / 1024;
  if (!Number.isInteger(gib) || gib < 1 || gib > 16384) {
    fail(`dataVolumeSize must be a whole number of GiB from 1 to 16384 (gp3's range); received ${gib} GiB`);
  }
  return gib;
}

function clientCidr(cidr: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octetsValid = match?.slice(1, 5).every((octet) => Number(octet) <= 255) ?? false;
  const prefix = Number(match?.[5]);
  if (!match || !octetsValid || prefix > 32) {
    fail(`clientCidrs must hold IPv4 CIDRs such as "10.0.0.0/16"; received ${JSON.stringify(cidr)}`);
  }
  if (prefix === 0) {
    fail(
      `clientCidrs must not open etcd to the whole internet; received ${JSON.stringify(cidr)}: ` +
        "list the networks of your clients, or pass their security groups as clientSecurityGroups",
    );
  }
  return cidr;
}

function etcdSha256(given: string | undefined, version: string, instanceType: ec2.InstanceType): string {
  const arch = instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? "arm64" : "amd64";
  const sha256 = given ?? ETCD_RELEASE_SHA256[version]?.[arch];
  if (sha256 === undefined) {
    fail(
      `etcdSha256 is needed for etcd ${version} on ${arch} (${instanceType}): pass the SHA-256 of ` +
        `etcd-v${version}-linux-${arch}.tar.gz from the release's SHA256SUMS, or use etcdVersion ` +
        `${Object.keys(ETCD_RELEASE_SHA256).join(" or ")}`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    fail(`etcdSha256 must be 64 lowercase hex digits; received ${JSON.stringify(sha256)}`);
  }
  return sha256;
}

/** `min`: the lifecycle hook's 30 s, or more where the control plane needs it (see the props). */
function heartbeat(prop: string, timeout: Duration, min = 30): Duration {
  // Not integral: a fraction of a second is this check's to refuse, naming the prop (toSeconds()
  // would throw CDK's own error instead).
  const seconds = timeout.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min || seconds > 7200) {
    const range =
      min === 30
        ? "the lifecycle hook's range"
        : "the hook's range, from the longest gap between the control plane's heartbeats";
    fail(`${prop} must be a whole number of seconds from ${min} to 7200 (${range}); received ${seconds} s`);
  }
  return timeout;
}

function certificateLifetime(lifetime: Duration): Duration {
  const seconds = lifetime.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 3600 || seconds > 90 * 86_400) {
    fail(
      `certificateLifetime must be a whole number of seconds from 1 hour to 90 days (nodes renew at two ` +
        `thirds of it); received ${seconds} s`,
    );
  }
  return lifetime;
}

function healthGracePeriod(grace: Duration): Duration {
  const seconds = grace.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 120 || seconds > 3600) {
    fail(
      `healthGracePeriod must be a whole number of seconds from 2 minutes to 1 hour (two reconcile ` +
        `passes at least); received ${seconds} s`,
    );
  }
  return grace;
}

function defragmentationSchedule(schedule: events.Schedule): events.Schedule {
  const minutes = /^rate\((\d+) minutes?\)$/.exec(schedule.expressionString);
  if (minutes !== null && Number(minutes[1]) < 60) {
    fail(
      `defragmentationSchedule must not run more often than hourly (a defragmentation blocks the member ` +
        `while it runs, and members rarely gain 64 MiB of free space in an hour); received ${schedule.expressionString}`,
    );
  }
  return schedule;
}

function lambdaBundlesDir(dir: string): string {
  for (const name of FUNCTION_NAMES) {
    const handler = path.join(dir, name, "lib", "index.js");
    if (!existsSync(handler)) {
      fail(
        `lambdaBundlesDir has no bundle for ${name}: ${handler} does not exist. Run \`npm run build\` ` +
          "(cdk.json runs it before `cdk synth`), or point lambdaBundlesDir at the built bundles",
      );
    }
  }
  return dir;
}

function bootScriptPath(file: string): string {
  if (!existsSync(file)) {
    fail(
      `bootScriptPath ${file} does not exist: point it at the boot script (bootstrap-script/etcd-asg-boot.sh)`,
    );
  }
  return file;
}
