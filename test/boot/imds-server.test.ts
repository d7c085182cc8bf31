// The simulator's IMDSv2 server answers curl the way EC2's instance metadata service does.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ImdsServer, ImdsServerError } from "../../local/imds/imds-server";

const run = promisify(execFile);

/** curl's status code and body; `-w` appends the code after a newline. */
async function curl(args: readonly string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run("curl", ["-sS", "-w", "\n%{http_code}", ...args]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

describe("IMDSv2 server", () => {
  const privateIp = `127.${randomInt(100, 250)}.${randomInt(1, 255)}.${randomInt(2, 255)}`;
  const credentials = {
    AccessKeyId: "ASIAEXAMPLE123",
    SecretAccessKey: "c2VjcmV0+/c2VjcmV0=",
    Token: "IQoJb3JpZ2luX2VjEXAMPLE==",
    Expiration: "2099-01-01T00:00:00Z",
  };
  const imds = new ImdsServer({
    instanceId: "i-0abc1234def567890",
    privateIp,
    region: "eu-west-1",
    availabilityZone: "eu-west-1b",
    roleName: "etcd-asg-node",
    credentials,
  });
  let token = "";

  before(async () => {
    await imds.start({ host: privateIp });
    const answer = await curl([
      "-X",
      "PUT",
      "-H",
      "X-aws-ec2-metadata-token-ttl-seconds: 60",
      `${imds.endpoint}/latest/api/token`,
    ]);
    assert.equal(answer.status, 200);
    token = answer.body;
  });
  after(() => imds.stop());

  const get = (path: string, withToken = true) =>
    curl([...(withToken ? ["-H", `X-aws-ec2-metadata-token: ${token}`] : []), `${imds.endpoint}${path}`]);

  it("answers the instance's metadata to a GET carrying a session token", async () => {
    assert.deepEqual(await get("/latest/meta-data/instance-id"), {
      status: 200,
      body: "i-0abc1234def567890",
    });
    assert.deepEqual(await get("/latest/meta-data/local-ipv4"), { status: 200, body: privateIp });
    assert.deepEqual(await get("/latest/meta-data/placement/region"), { status: 200, body: "eu-west-1" });
    assert.deepEqual(await get("/latest/meta-data/placement/availability-zone"), {
      status: 200,
      body: "eu-west-1b",
    });
    assert.deepEqual(await get("/latest/meta-data/iam/security-credentials/"), {
      status: 200,
      body: "etcd-asg-node",
    });
  });

  it("answers the role's credentials as the JSON document AWS serves", async () => {
    const answer = await get("/latest/meta-data/iam/security-credentials/etcd-asg-node");
    assert.equal(answer.status, 200);
    const document = JSON.parse(answer.body) as Record<string, string>;
    assert.deepEqual(Object.keys(document), [
      "Code",
      "LastUpdated",
      "Type",
      "AccessKeyId",
      "SecretAccessKey",
      "Token",
      "Expiration",
    ]);
    assert.equal(document.Code, "Success");
    assert.equal(document.Type, "AWS-HMAC");
    assert.match(document.LastUpdated ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(
      {
        AccessKeyId: document.AccessKeyId,
        SecretAccessKey: document.SecretAccessKey,
        Token: document.Token,
        Expiration: document.Expiration,
      },
      credentials,
    );
  });

  it("answers the instance identity document", async () => {
    const answer = await get("/latest/dynamic/instance-identity/document");
    assert.equal(answer.status, 200);
    const document = JSON.parse(answer.body) as Record<string, unknown>;
    assert.equal(document.instanceId, "i-0abc1234def567890");
    assert.equal(document.privateIp, privateIp);
    assert.equal(document.region, "eu-west-1");
    assert.equal(document.availabilityZone, "eu-west-1b");
  });

  it("refuses a GET without a token or with an unknown token with 401", async () => {
    assert.equal((await get("/latest/meta-data/instance-id", false)).status, 401);
    const forged = await curl([
      "-H",
      "X-aws-ec2-metadata-token: forged",
      `${imds.endpoint}/latest/meta-data/instance-id`,
    ]);
    assert.equal(forged.status, 401);
  });

  it("refuses a token request without a TTL, or with a TTL above six hours, with 400", async () => {
    assert.equal((await curl(["-X", "PUT", `${imds.endpoint}/latest/api/token`])).status, 400);
    const tooLong = await curl([
      "-X",
      "PUT",
      "-H",
      "X-aws-ec2-metadata-token-ttl-seconds: 21601",
      `${imds.endpoint}/latest/api/token`,
    ]);
    assert.equal(tooLong.status, 400);
  });

  it("answers 404 for paths it does not know, also another role's credentials", async () => {
    assert.equal((await get("/latest/meta-data/no-such-thing")).status, 404);
    assert.equal((await get("/latest/meta-data/iam/security-credentials/other-role")).status, 404);
  });

  it("refuses a token once its TTL has passed", async () => {
    const short = await curl([
      "-X",
      "PUT",
      "-H",
      "X-aws-ec2-metadata-token-ttl-seconds: 1",
      `${imds.endpoint}/latest/api/token`,
    ]);
    await new Promise((done) => setTimeout(done, 1100));
    const answer = await curl([
      "-H",
      `X-aws-ec2-metadata-token: ${short.body}`,
      `${imds.endpoint}/latest/meta-data/instance-id`,
    ]);
    assert.equal(answer.status, 401);
  });

  it("rejects a private IP or listen address outside 127.0.0.0/8", async () => {
    assert.throws(
      () => new ImdsServer({ ...sampleInstance(), privateIp: "10.0.0.5" }),
      (error: unknown) => error instanceof ImdsServerError && /10\.0\.0\.5/.test(error.message),
    );
    await assert.rejects(new ImdsServer(sampleInstance()).start({ host: "0.0.0.0" }), ImdsServerError);
  });
});

function sampleInstance() {
  return {
    instanceId: "i-1",
    privateIp: "127.0.0.1",
    region: "eu-west-1",
    availabilityZone: "eu-west-1a",
    roleName: "r",
    credentials: { AccessKeyId: "A", SecretAccessKey: "S", Token: "T", Expiration: "2099-01-01T00:00:00Z" },
  };
}
