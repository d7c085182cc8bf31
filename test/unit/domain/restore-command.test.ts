// The restore command per etcd version: etcdctl on 3.4, etcdutl from 3.5, the revision bumped and
// marked compacted from 3.4.27 and 3.5.10 on (etcd's tags and changelogs), the hash check always on.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RestoreSource } from "../../../lambdas/domain/durability";
import { parseEtcdVersion } from "../../../lambdas/domain/etcd-version";
import {
  DEFAULT_REVISION_BUMP,
  nodeRestore,
  RESTORE_PLACEHOLDERS,
  restoreCommand,
  UnsupportedRestoreVersionError,
} from "../../../lambdas/domain/restore-command";

function command(version: string, revisionBump?: number) {
  return restoreCommand({
    etcdVersion: parseEtcdVersion(version),
    snapshotFile: "/var/lib/etcd-restore/snapshot.db",
    name: "i-0123456789abcdef0",
    initialCluster: "i-0123456789abcdef0=https://10.0.1.5:2380",
    initialClusterToken: "prod-g2",
    initialAdvertisePeerUrl: "https://10.0.1.5:2380",
    dataDir: "/var/lib/etcd/g2",
    ...(revisionBump === undefined ? {} : { revisionBump }),
  });
}

describe("restoreCommand", () => {
  const cases: [string, "etcdctl" | "etcdutl", boolean][] = [
    ["3.4.0", "etcdctl", false],
    ["3.4.23", "etcdctl", false],
    ["3.4.26", "etcdctl", false],
    ["3.4.27", "etcdctl", true],
    ["v3.4.37", "etcdctl", true],
    ["3.5.0", "etcdutl", false],
    ["3.5.9", "etcdutl", false],
    ["3.5.10-rc.0", "etcdutl", false],
    ["3.5.10", "etcdutl", true],
    ["3.5.21", "etcdutl", true],
    ["3.6.0", "etcdutl", true],
    ["3.6.4", "etcdutl", true],
  ];
  for (const [version, tool, bumps] of cases) {
    test(`etcd ${version}: ${tool}${bumps ? ", revision bumped and marked compacted" : ", no bump"}`, () => {
      const restore = command(version);
      assert.equal(restore.tool, tool);
      assert.equal(restore.bumpsRevision, bumps);
      assert.equal(restore.args.includes(`--bump-revision=${DEFAULT_REVISION_BUMP}`), bumps);
      assert.equal(restore.args.includes("--mark-compacted"), bumps);
      assert.ok(!restore.args.some((a) => a.startsWith("--skip-hash-check")));
    });
  }

  test("names the snapshot, the member, the new initial cluster, token and data dir", () => {
    assert.deepEqual(command("3.5.21", 5000).args, [
      "snapshot",
      "restore",
      "/var/lib/etcd-restore/snapshot.db",
      "--name=i-0123456789abcdef0",
      "--initial-cluster=i-0123456789abcdef0=https://10.0.1.5:2380",
      "--initial-cluster-token=prod-g2",
      "--initial-advertise-peer-urls=https://10.0.1.5:2380",
      "--data-dir=/var/lib/etcd/g2",
      "--bump-revision=5000",
      "--mark-compacted",
    ]);
  });

  test("says when watchers may miss events", () => {
    assert.match(command("3.4.23").reason, /cannot bump the revision \(3\.4\.27 can\)/);
  });

  test("refuses etcd older than 3.4", () => {
    assert.throws(() => command("3.3.27"), UnsupportedRestoreVersionError);
  });
});

describe("nodeRestore", () => {
  const source: RestoreSource = {
    kind: "snapshot",
    key: "c/prod-g1/00000000000000000042.db",
    sha256: "ab".repeat(32),
    size: 4096,
    revision: 42,
    token: "prod-g1",
    generation: 1,
    member: { instanceId: "i-0fedcba9876543210", memberId: "1002" },
  };
  const settings = {
    name: "i-0123456789abcdef0",
    initialCluster: "i-0123456789abcdef0=https://10.0.1.5:2380,i-0fedcba9876543210=https://10.0.1.6:2380",
    initialClusterState: "new" as const,
    initialClusterToken: "prod-g2",
    initialAdvertisePeerUrls: "https://10.0.1.5:2380",
  };
  const v = parseEtcdVersion("3.5.17");

  test("a node of a restored generation's initial set restores the source with the new token", () => {
    const restore = nodeRestore({ token: "prod-g2", restoreSource: source }, settings, v);
    assert.deepEqual([restore?.key, restore?.sha256, restore?.revision], [source.key, source.sha256, 42]);
    assert.equal(restore?.command.tool, "etcdutl");
    assert.ok(restore?.command.args.includes(`${RESTORE_PLACEHOLDERS.snapshotFile}`));
    assert.ok(restore?.command.args.includes(`--data-dir=${RESTORE_PLACEHOLDERS.dataDir}`));
    assert.ok(restore?.command.args.includes("--initial-cluster-token=prod-g2"));
  });

  test("nothing for a joining node, a generation without a source, or settings of another token", () => {
    assert.equal(
      nodeRestore(
        { token: "prod-g2", restoreSource: source },
        { ...settings, initialClusterState: "existing" },
        v,
      ),
      undefined,
    );
    assert.equal(nodeRestore({ token: "prod-g2" }, settings, v), undefined);
    assert.equal(nodeRestore({ token: "prod-g3", restoreSource: source }, settings, v), undefined);
  });
});
