// The simulator's STS: role sessions get temporary credentials shaped as AssumeRole returns them and
// named as AWS names the caller; the operator is an IAM user with long-term keys; every key is found
// again by its ID.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CredentialStore, InvalidRoleArnError, InvalidSessionNameError } from "../../local/iam/credentials";

const ROLE = "arn:aws:iam::123456789012:role/service-role/EtcdAsg-LaunchHookRole";

describe("CredentialStore", () => {
  test("issues temporary credentials for a role session, named assumed-role/<role>/<session>", () => {
    const store = new CredentialStore({ account: "123456789012", now: () => Date.UTC(2026, 0, 1) });
    const credentials = store.assumeRole(ROLE, "i-0123456789abcdef0");
    assert.match(credentials.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.ok(credentials.secretAccessKey.length >= 40);
    assert.ok(credentials.sessionToken.length > 100);
    assert.equal(credentials.expiration.toISOString(), "2026-01-01T12:00:00.000Z");
    const caller = store.lookup(credentials.accessKeyId);
    assert.deepEqual(caller?.principal, {
      kind: "assumed-role",
      arn: "arn:aws:sts::123456789012:assumed-role/EtcdAsg-LaunchHookRole/i-0123456789abcdef0",
      account: "123456789012",
      roleArn: ROLE,
      roleName: "EtcdAsg-LaunchHookRole",
      sessionName: "i-0123456789abcdef0",
      userId: caller?.principal.userId,
      issuedAt: new Date(Date.UTC(2026, 0, 1)),
    });
    assert.match(caller?.principal.userId ?? "", /^AROA[A-Z2-7]{16}:i-0123456789abcdef0$/);
    assert.deepEqual(store.secretFor(credentials.accessKeyId), credentials);
  });

  test("gives every session of a role the same role ID and its own keys", () => {
    const store = new CredentialStore({ account: "123456789012" });
    const a = store.assumeRole(ROLE, "one");
    const b = store.assumeRole(ROLE, "two");
    assert.notEqual(a.accessKeyId, b.accessKeyId);
    const roleId = (key: string) => store.lookup(key)?.principal.userId.split(":")[0];
    assert.equal(roleId(a.accessKeyId), roleId(b.accessKeyId));
  });

  test("the operator is an IAM user with a long-term key and no session token", () => {
    const store = new CredentialStore({ account: "123456789012" });
    assert.equal(store.operator.principal.arn, "arn:aws:iam::123456789012:user/etcd-asg-operator");
    assert.match(store.operator.credentials.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(store.operator.credentials.sessionToken, undefined);
    assert.equal(store.lookup(store.operator.credentials.accessKeyId)?.principal.kind, "user");
  });

  test("refuses session names and role ARNs STS would refuse, and knows no other key", () => {
    const store = new CredentialStore({ account: "123456789012" });
    assert.throws(() => store.assumeRole(ROLE, "x"), InvalidSessionNameError);
    assert.throws(() => store.assumeRole(ROLE, "has space"), InvalidSessionNameError);
    assert.throws(() => store.assumeRole("arn:aws:iam::123456789012:user/bob", "bob"), InvalidRoleArnError);
    assert.equal(store.lookup("ASIAUNKNOWN"), undefined);
  });
});
