// The local servers that stand in for AWS's services, each behind the simulator's IAM gate: the
// Auto Scaling and EC2 emulator, DynamoDB (dynalite) and S3 (s3rver) through gate proxies (neither
// checks a signature itself), KMS, Route 53 with the VPC's DNS resolver answering from its zones
// (on the block's .2, as a VPC's resolver sits at its base address plus two), a function URL,
// Lambda's Invoke API and CloudFormation's DescribeStacks. Each is registered for
// stop() as soon as it runs, so a start cut short leaves nothing behind.
import { AwsEmulator } from "../aws/emulator";
import { LocalDnsServer } from "../dns/server";
import { DynamoDbOutage } from "../dynamodb/outage";
import { startLocalDynamoDb } from "../dynamodb/server";
import { dynamoDbFront } from "../iam/dynamodb";
import type { Gate } from "../iam/gate";
import { startGateProxy, withoutSignature } from "../iam/gate-proxy";
import { kmsFront } from "../iam/kms";
import { route53Front } from "../iam/route53";
import { s3Front } from "../iam/s3";
import { KmsEmulator } from "../kms/server";
import { Route53Emulator } from "../route53/server";
import { startLocalS3 } from "../s3/server";
import type { AddressBlock } from "./address-block";
import { CloudFormationApi, type DescribedStack } from "./cloudformation-api";
import { FunctionUrl, type FunctionUrlTarget } from "./function-url";
import { type InvokableFunction, LambdaApi } from "./lambda-api";

/** Route 53 reports a change INSYNC within seconds; the simulator's zones answer DNS a moment after. */
export const ROUTE53_SYNC_DELAY_MS = 200;

export interface ServicesOptions {
  readonly region: string;
  readonly account: string;
  readonly gate: Gate;
  readonly block: AddressBlock;
  readonly healthCheckDelayMs: number;
  readonly log: (line: string) => void;
  /** Registers a part for stop(). */
  readonly register: (stop: () => Promise<void> | void) => void;
  /** Throws when the start has been aborted: checked between two parts. */
  readonly aborted: () => void;
  /** What the function URL invokes, and the functions the Invoke API reaches: the deployment's. */
  readonly urlTarget: () => FunctionUrlTarget | undefined;
  readonly functions: () => readonly InvokableFunction[];
  /** The stack DescribeStacks shows: the deployment's. */
  readonly stack: () => DescribedStack | undefined;
}

export interface LocalServices {
  readonly emulator: AwsEmulator;
  /** Switches the DynamoDB endpoint's outage on and off (chaos's ledger-outage). */
  readonly ledgerOutage: DynamoDbOutage;
  readonly kms: KmsEmulator;
  readonly route53: Route53Emulator;
  /** The DNS server answering from Route 53's zones, as `host:port` for `Resolver.setServers`. */
  readonly dns: string;
  /** AWS_ENDPOINT_URL_<SERVICE> for the functions, the instances and the operator's clients. */
  readonly endpoints: Readonly<Record<string, string>>;
  readonly functionUrl: string;
  readonly lambdaApi: string;
  readonly cloudFormationApi: string;
  readonly s3: string;
}

export async function startServices(options: ServicesOptions): Promise<LocalServices> {
  const { gate, register, aborted } = options;
  const frontOptions = { region: options.region, account: options.account };

  const dynalite = await startLocalDynamoDb();
  register(() => dynalite.stop());
  const ledgerOutage = new DynamoDbOutage();
  const dynamo = await startGateProxy({
    gate,
    front: dynamoDbFront(frontOptions),
    upstream: dynalite.endpoint,
    outage: () => ledgerOutage.answer(),
  });
  register(() => dynamo.stop());
  const s3rver = await startLocalS3();
  register(() => s3rver.stop());
  const s3 = await startGateProxy({
    gate,
    front: s3Front(frontOptions),
    upstream: s3rver.endpoint,
    forward: withoutSignature,
  });
  register(() => s3.stop());
  aborted();

  const emulator = new AwsEmulator({
    gate,
    ...frontOptions,
    privateIps: { first: options.block.address(11), last: options.block.address(60) },
    healthCheckDelayMs: options.healthCheckDelayMs,
    onListenerError: (error) => options.log(`simulator error: ${String(error)}`),
  });
  const awsEndpoint = await emulator.start();
  register(() => emulator.stop());

  const kms: KmsEmulator = new KmsEmulator({
    ...frontOptions,
    authorize: async (request) => {
      const verdict = await gate(
        request,
        kmsFront({
          ...frontOptions,
          keyArn: (keyId) => kms.keyArn(keyId),
          keyPolicy: (arn) => JSON.parse(kms.keyPolicy(arn)),
        }),
      );
      return verdict.ok ? undefined : verdict.response;
    },
  });
  const kmsEndpoint = await kms.start();
  register(() => kms.stop());
  aborted();

  const route53Gate = route53Front();
  const route53 = new Route53Emulator({
    region: options.region,
    syncDelayMs: ROUTE53_SYNC_DELAY_MS,
    authorize: async (request) => {
      const verdict = await gate(request, route53Gate);
      return verdict.ok ? undefined : verdict.response;
    },
  });
  const route53Endpoint = await route53.start();
  register(() => route53.stop());
  const dnsServer = new LocalDnsServer({ zones: route53.store, host: options.block.address(2) });
  const dns = await dnsServer.start();
  register(() => dnsServer.stop());
  aborted();

  const url = new FunctionUrl({ target: options.urlTarget, region: options.region, gate });
  const functionUrl = await url.start();
  register(() => url.stop());
  const api = new LambdaApi({ region: options.region, gate, functions: options.functions });
  const lambdaApi = await api.start();
  register(() => api.stop());
  const cloudFormation = new CloudFormationApi({ ...frontOptions, gate, stack: options.stack });
  const cloudFormationApi = await cloudFormation.start();
  register(() => cloudFormation.stop());
  aborted();

  return {
    emulator,
    ledgerOutage,
    kms,
    route53,
    dns,
    endpoints: {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_AUTO_SCALING: awsEndpoint,
      AWS_ENDPOINT_URL_EC2: awsEndpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_KMS: kmsEndpoint,
      AWS_ENDPOINT_URL_ROUTE_53: route53Endpoint,
      AWS_ENDPOINT_URL_LAMBDA: lambdaApi,
    },
    functionUrl,
    lambdaApi,
    cloudFormationApi,
    s3: s3.endpoint,
  };
}
