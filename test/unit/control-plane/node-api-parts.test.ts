import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeConfig } from "../../../lambdas/domain/node-config";
import {
  callerInstance,
  IdentityRefusedError,
  parseNodeRole,
  requireSelf,
} from "../../../lambdas/node-api/identity";
import { render } from "../../../lambdas/node-api/render";
import { BadRequestError, parseNodeRequest } from "../../../lambdas/node-api/request";

const ID = "i-0123456789abcdef0";
const ARN = `arn:aws:sts::123456789012:assumed-role/etcd-node/${ID}`;
const NODE_ROLE = parseNodeRole("arn:aws:iam::123456789012:role/etcd-node");

const learner: NodeConfig = {
  role: "learner",
  reason: "cluster has room",
  etcd: {
    name: ID,
    initialCluster: `i-00000000000000001=http://10.0.0.1:2380,${ID}=http://10.0.0.9:2380`,
    initialClusterState: "existing",
    initialClusterToken: "etcd-asg-t1",
    initialAdvertisePeerUrls: "http://10.0.0.9:2380",
    listenPeerUrls: "http://10.0.0.9:2380",
    listenClientUrls: "http://10.0.0.9:2379",
    advertiseClientUrls: "http://10.0.0.9:2379",
    dataDir: "/var/lib/etcd",
    quotaBackendBytes: 5_100_273_664,
    autoCompactionMode: "periodic",
    autoCompactionRetention: "30m",
  },
};

function request(path: string, method = "GET", query?: Record<string, string>, body?: string) {
  return {
    rawPath: path,
    queryStringParameters: query,
    requestContext: { http: { method }, authorizer: { iam: { userArn: ARN } } },
    body,
  };
}

const CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";

describe("node API identity", () => {
  test("a session of the node role is the instance named by its session", () => {
    assert.deepEqual(callerInstance(ARN, NODE_ROLE), { roleName: "etcd-node", instanceId: ID });
  });

  test("a role path in the node role's ARN does not matter: sessions carry only the name", () => {
    const role = parseNodeRole("arn:aws:iam::123456789012:role/etcd/nodes/etcd-node");
    assert.equal(callerInstance(ARN, role).instanceId, ID);
  });

  test("refuses a caller that is not an instance-role session", () => {
    assert.throws(
      () => callerInstance("arn:aws:iam::123456789012:user/alice", NODE_ROLE),
      IdentityRefusedError,
    );
  });

  test("refuses another role", () => {
    const other = `arn:aws:sts::123456789012:assumed-role/other-role/${ID}`;
    assert.throws(() => callerInstance(other, NODE_ROLE), /not a session of the node role/);
  });

  test("refuses the node role's name in another account", () => {
    const foreign = `arn:aws:sts::999999999999:assumed-role/etcd-node/${ID}`;
    assert.throws(() => callerInstance(foreign, NODE_ROLE), /not a session of the node role/);
  });

  test("refuses the node role's name in another partition", () => {
    const foreign = `arn:aws-cn:sts::123456789012:assumed-role/etcd-node/${ID}`;
    assert.throws(() => callerInstance(foreign, NODE_ROLE), /not a session of the node role/);
  });

  test("refuses a request about another instance", () => {
    assert.throws(
      () => requireSelf({ roleName: "r", instanceId: ID }, "i-0fffffffffffffff0"),
      /may not act for/,
    );
  });

  test("refuses a request without identity", () => {
    assert.throws(() => callerInstance(undefined, NODE_ROLE), /no IAM caller identity/);
  });

  test("a node role that is not a role ARN is named in the error", () => {
    assert.throws(() => parseNodeRole("etcd-node"), /"etcd-node" is not an IAM role ARN/);
  });
});

describe("node API requests", () => {
  test("config defaults to the env format", () => {
    assert.deepEqual(parseNodeRequest(request(`/v1/nodes/${ID}/config`)), {
      route: "config",
      instanceId: ID,
      format: "env",
      waitMs: 0,
      standby: false,
      etcdVersion: undefined,
      csr: undefined,
      callerArn: ARN,
    });
  });

  test("a config request POSTs the node's CSR to be answered with its certificates, in the env format only", () => {
    const parsed = parseNodeRequest(request(`/v1/nodes/${ID}/config`, "POST", { wait: "10" }, CSR));
    assert.equal(parsed.route === "config" && parsed.csr, CSR);
    const encoded = {
      ...request(`/v1/nodes/${ID}/config`, "POST", {}, Buffer.from(CSR).toString("base64")),
      isBase64Encoded: true,
    };
    const decoded = parseNodeRequest(encoded);
    assert.equal(decoded.route === "config" && decoded.csr, CSR, "a base64-encoded body is decoded");
    assert.throws(
      () => parseNodeRequest(request(`/v1/nodes/${ID}/config`, "POST")),
      /config takes POST with the node's certificate signing request \(PEM, at most 16384 bytes\) as its body/,
    );
    assert.throws(
      () => parseNodeRequest(request(`/v1/nodes/${ID}/config`, "POST", { format: "flags" }, CSR)),
      /only format=env carries; received format=flags/,
    );
    assert.throws(
      () => parseNodeRequest(request(`/v1/nodes/${ID}/config`, "PUT", {}, CSR)),
      /config takes GET, or POST with a CSR, not PUT/,
    );
  });

  test("etcd names the release the node installed, checked against etcd's version rules", () => {
    const parsed = parseNodeRequest(request(`/v1/nodes/${ID}/config`, "GET", { etcd: "3.5.21" }));
    assert.equal(parsed.route === "config" && parsed.etcdVersion, "3.5.21");
    assert.throws(
      () => parseNodeRequest(request(`/v1/nodes/${ID}/config`, "GET", { etcd: "v3.5" })),
      /etcd must be the installed etcd release as MAJOR.MINOR.PATCH \(e.g. 3.5.21\); received "v3.5"/,
    );
  });

  test("wait holds a config request up to 10 s; standby holds a not-a-member answer too", () => {
    const parsed = parseNodeRequest(request(`/v1/nodes/${ID}/config`, "GET", { wait: "10", standby: "1" }));
    assert.equal(parsed.route === "config" && parsed.waitMs, 10_000);
    assert.equal(parsed.route === "config" && parsed.standby, true);
    assert.throws(
      () => parseNodeRequest(request(`/v1/nodes/${ID}/config`, "GET", { standby: "yes" })),
      /standby must be 0 or 1; received "yes"/,
    );
  });

  test("ready is a POST", () => {
    assert.equal(parseNodeRequest(request(`/v1/nodes/${ID}/ready`, "POST")).route, "ready");
    assert.throws(
      () => parseNodeRequest(request(`/v1/nodes/${ID}/ready`)),
      (e: unknown) => e instanceof BadRequestError && e.status === 405,
    );
  });

  test("an unknown path is a 404", () => {
    assert.throws(
      () => parseNodeRequest(request("/v1/other")),
      (e: unknown) => e instanceof BadRequestError && e.status === 404,
    );
  });

  test("an unknown format names the allowed ones", () => {
    assert.throws(
      () => parseNodeRequest(request(`/v1/nodes/${ID}/config`, "GET", { format: "yaml" })),
      /env, flags, dropin, json; received "yaml"/,
    );
  });

  test("a path that is not an instance ID is refused", () => {
    assert.throws(() => parseNodeRequest(request("/v1/nodes/$(reboot)/config")), /is not an EC2 instance ID/);
  });
});

describe("rendering", () => {
  test("env lines are what the boot script parses", () => {
    const { body } = render(learner, "env");
    assert.equal(
      body,
      [
        'ETCD_ASG_DECISION="learner"',
        'ETCD_ASG_REASON="cluster has room"',
        `ETCD_NAME="${ID}"`,
        'ETCD_DATA_DIR="/var/lib/etcd"',
        `ETCD_INITIAL_CLUSTER="${learner.etcd?.initialCluster}"`,
        'ETCD_INITIAL_CLUSTER_STATE="existing"',
        'ETCD_INITIAL_CLUSTER_TOKEN="etcd-asg-t1"',
        'ETCD_INITIAL_ADVERTISE_PEER_URLS="http://10.0.0.9:2380"',
        'ETCD_LISTEN_PEER_URLS="http://10.0.0.9:2380"',
        'ETCD_LISTEN_CLIENT_URLS="http://10.0.0.9:2379"',
        'ETCD_ADVERTISE_CLIENT_URLS="http://10.0.0.9:2379"',
        'ETCD_QUOTA_BACKEND_BYTES="5100273664"',
        'ETCD_AUTO_COMPACTION_MODE="periodic"',
        'ETCD_AUTO_COMPACTION_RETENTION="30m"',
        "",
      ].join("\n"),
    );
  });

  test("flags are etcd's flag names", () => {
    const { body } = render(learner, "flags");
    assert.match(body, /^--name=i-0123456789abcdef0 --data-dir=\/var\/lib\/etcd --initial-cluster=/);
    assert.match(body, /--initial-cluster-state=existing /);
    assert.match(
      body,
      / --quota-backend-bytes=5100273664 --auto-compaction-mode=periodic --auto-compaction-retention=30m\n$/,
    );
  });

  test("the drop-in is a [Service] section of Environment lines", () => {
    const { body } = render(learner, "dropin");
    assert.match(body, /\n\[Service\]\nEnvironment="ETCD_NAME=i-0123456789abcdef0"\n/);
  });

  test("a restore follows the etcd settings in env, whole in json", () => {
    const restore = {
      url: "https://bucket.s3.amazonaws.com/c/t/1.db?X-Amz-Expires=900&X-Amz-Signature=ab%2F",
      sha256: "a".repeat(64),
      size: 20_512,
      revision: 140,
      command: ["etcdutl", "snapshot", "restore", "{snapshot}", `--name=${ID}`, "--data-dir={data-dir}"],
    };
    const env = render(learner, "env", restore).body.split("\n");
    assert.deepEqual(env.slice(-6), [
      `ETCD_ASG_RESTORE_URL="${restore.url}"`,
      `ETCD_ASG_RESTORE_SHA256="${restore.sha256}"`,
      'ETCD_ASG_RESTORE_SIZE="20512"',
      'ETCD_ASG_RESTORE_REVISION="140"',
      `ETCD_ASG_RESTORE_COMMAND="etcdutl snapshot restore {snapshot} --name=${ID} --data-dir={data-dir}"`,
      "",
    ]);
    assert.deepEqual(JSON.parse(render(learner, "json", restore).body).restore, restore);
  });

  test("the member to start after follows the etcd settings in env, and stays out of flags and the drop-in", () => {
    const first = {
      ...learner,
      role: "member",
      startAfter: { peerUrl: "https://10.0.0.7:2380", closedMs: 150 },
    } as const;
    const env = render(first, "env").body.split("\n");
    assert.deepEqual(env.slice(-3), [
      'ETCD_ASG_START_AFTER="https://10.0.0.7:2380"',
      'ETCD_ASG_START_AFTER_CLOSED_MS="150"',
      "",
    ]);
    assert.doesNotMatch(render(first, "flags").body, /start-after|10\.0\.0\.7/);
    assert.doesNotMatch(render(first, "dropin").body, /START_AFTER/);
  });

  test("a reason can never break out of its quotes", () => {
    const { body } = render({ role: "wait", reason: 'x"; rm -rf / `id` $HOME\\', etcd: undefined }, "env");
    assert.equal(body, 'ETCD_ASG_DECISION="wait"\nETCD_ASG_REASON="x; rm -rf / id HOME"\n');
  });
});
