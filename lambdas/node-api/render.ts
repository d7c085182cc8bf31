// Renders a node's published configuration the ways etcd is started (as elastic-etcd does):
// `env` (KEY="value" lines, what the boot script reads), `flags` (etcd command-line flags) and
// `dropin` (a systemd drop-in of Environment= lines). A restore (node-api/restore.ts) is carried by
// `env` (ETCD_ASG_RESTORE_* lines) and `json`, the formats a restoring node's tooling reads; so is
// the member an initial member waits for before etcd's first start (ETCD_ASG_START_AFTER*,
// domain/start-order.ts).
import { type EtcdStorageSettings, etcdStorageVariables } from "../domain/etcd-storage";
import type { EtcdSettings, NodeConfig } from "../domain/node-config";
import type { RestoreAnswer } from "./restore";

export const FORMATS = ["env", "flags", "dropin", "json"] as const;
export type Format = (typeof FORMATS)[number];

/** etcd's own variable for each setting but storage's (appended after), in the order etcd documents them. */
const VARIABLES: ReadonlyArray<readonly [Exclude<keyof EtcdSettings, keyof EtcdStorageSettings>, string]> = [
  ["name", "ETCD_NAME"],
  ["dataDir", "ETCD_DATA_DIR"],
  ["initialCluster", "ETCD_INITIAL_CLUSTER"],
  ["initialClusterState", "ETCD_INITIAL_CLUSTER_STATE"],
  ["initialClusterToken", "ETCD_INITIAL_CLUSTER_TOKEN"],
  ["initialAdvertisePeerUrls", "ETCD_INITIAL_ADVERTISE_PEER_URLS"],
  ["listenPeerUrls", "ETCD_LISTEN_PEER_URLS"],
  ["listenClientUrls", "ETCD_LISTEN_CLIENT_URLS"],
  ["advertiseClientUrls", "ETCD_ADVERTISE_CLIENT_URLS"],
];

/**
 * Values are quoted, never evaluated: quotes, characters a shell or systemd would interpret and
 * control characters are dropped.
 */
export function safeValue(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  return value.replace(/["\\$`\u0000-\u001f\u007f]/g, "");
}

/** The restore a node makes before etcd's first start; the command's words are separated by spaces
 * (none of them holds one). */
function restorePairs(restore: RestoreAnswer | undefined): Array<readonly [string, string]> {
  if (restore === undefined) return [];
  return [
    ["ETCD_ASG_RESTORE_URL", restore.url],
    ["ETCD_ASG_RESTORE_SHA256", restore.sha256],
    ["ETCD_ASG_RESTORE_SIZE", String(restore.size)],
    ["ETCD_ASG_RESTORE_REVISION", String(restore.revision)],
    ["ETCD_ASG_RESTORE_COMMAND", restore.command.join(" ")],
  ];
}

function pairs(config: NodeConfig): Array<readonly [string, string]> {
  const head: Array<readonly [string, string]> = [
    ["ETCD_ASG_DECISION", config.role],
    ["ETCD_ASG_REASON", config.reason],
  ];
  const etcd = config.etcd;
  if (etcd === undefined) return head;
  const after = config.startAfter;
  return [
    ...head,
    ...VARIABLES.map(([key, variable]) => [variable, etcd[key]] as const),
    ...etcdStorageVariables(etcd),
    ...(after === undefined
      ? []
      : [
          ["ETCD_ASG_START_AFTER", after.peerUrl] as const,
          ["ETCD_ASG_START_AFTER_CLOSED_MS", String(after.closedMs)] as const,
        ]),
  ];
}

export function render(
  config: NodeConfig,
  format: Format,
  restore?: RestoreAnswer,
): { contentType: string; body: string } {
  switch (format) {
    case "env":
      return {
        contentType: "text/plain",
        body: lines([...pairs(config), ...restorePairs(restore)].map(([k, v]) => `${k}="${safeValue(v)}"`)),
      };
    case "dropin":
      return {
        contentType: "text/plain",
        body: lines([
          `# etcd-asg: ${safeValue(config.role)}: ${safeValue(config.reason)}`,
          "[Service]",
          ...pairs(config)
            .filter(([k]) => !k.startsWith("ETCD_ASG_"))
            .map(([k, v]) => `Environment="${k}=${safeValue(v)}"`),
        ]),
      };
    case "flags": {
      const flags = pairs(config)
        .filter(([k]) => !k.startsWith("ETCD_ASG_"))
        .map(([k, v]) => `--${k.slice("ETCD_".length).toLowerCase().replaceAll("_", "-")}=${safeValue(v)}`);
      return { contentType: "text/plain", body: lines([flags.join(" ")]) };
    }
    case "json":
      return {
        contentType: "application/json",
        body: JSON.stringify(restore === undefined ? config : { ...config, restore }),
      };
  }
}

function lines(items: readonly string[]): string {
  return `${items.join("\n")}\n`;
}
