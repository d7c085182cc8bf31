// One local Route 53 per test file, driven by the real SDK client (one attempt per call, so a fault
// shows as it is), and a fresh private hosted zone per test.
import { after, before } from "node:test";
import { CreateHostedZoneCommand, Route53Client } from "@aws-sdk/client-route-53";
import { Route53Emulator, type Route53EmulatorOptions } from "../../local/route53/server";

export interface LocalRoute53 {
  emulator(): Route53Emulator;
  client(): Route53Client;
  /** Creates a private zone (a name no other test of the file uses, unless one is given). */
  newZone(name?: string): Promise<{ readonly id: string; readonly name: string }>;
}

/** Registers the server's start and stop with the enclosing suite's before/after hooks. */
export function useLocalRoute53(options: Route53EmulatorOptions = {}): LocalRoute53 {
  let emulator: Route53Emulator | undefined;
  let client: Route53Client | undefined;
  let zones = 0;
  before(async () => {
    emulator = new Route53Emulator(options);
    client = new Route53Client({
      endpoint: await emulator.start(),
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
  });
  after(async () => {
    client?.destroy();
    await emulator?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the local Route 53 starts in the suite's before hook");
    return value;
  };
  return {
    emulator: () => started(emulator),
    client: () => started(client),
    newZone: async (name) => {
      zones += 1;
      const created = await started(client).send(
        new CreateHostedZoneCommand({
          Name: name ?? `zone${zones}.internal`,
          CallerReference: `test-zone-${zones}`,
          VPC: { VPCRegion: "us-east-1", VPCId: "vpc-0123456789abcdef0" },
          HostedZoneConfig: { PrivateZone: true },
        }),
      );
      return { id: created.HostedZone?.Id ?? "", name: created.HostedZone?.Name ?? "" };
    },
  };
}
