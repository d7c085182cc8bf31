// The local KMS driven by the real @aws-sdk/client-kms, and the KMS adapter over it: answers and
// errors must come out as KMS words them, and the adapter must sort them into retryable or not.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, createPublicKey, verify } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  VerifyCommand,
} from "@aws-sdk/client-kms";
import {
  KmsAccessDeniedError,
  KmsKeyDisabledError,
  KmsKeyNotFoundError,
  KmsRequestError,
  KmsSigningKey,
  KmsUnavailableError,
} from "../../lambdas/adapters/kms";
import { isRetryable } from "../../lambdas/errors";
import { type KmsFault, type KmsRequest, kmsErrorResponse } from "../../local/kms/server";
import { useLocalKms } from "../helpers/pki";

const DENIED_KEY_DESCRIPTION = "denied by the test gate";
const seen: KmsRequest[] = [];

/** Refuses kms:Sign on keys whose ARN the test put in `denied`, as an IAM gate would. */
const denied = new Set<string>();
const kms = useLocalKms({
  authorize: (request) => {
    seen.push(request);
    if (request.action === "kms:Sign" && request.keyArn !== undefined && denied.has(request.keyArn)) {
      return kmsErrorResponse(
        "AccessDeniedException",
        `User: arn:aws:sts::123456789012:assumed-role/test/x is not authorized to perform: kms:Sign on resource: ${request.keyArn} (${DENIED_KEY_DESCRIPTION})`,
      );
    }
    return undefined;
  },
});

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest();

async function newKey(client: KMSClient) {
  const created = await client.send(
    new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }),
  );
  const arn = created.KeyMetadata?.Arn ?? "";
  const der = (await client.send(new GetPublicKeyCommand({ KeyId: arn }))).PublicKey ?? new Uint8Array();
  return {
    arn,
    id: created.KeyMetadata?.KeyId ?? "",
    publicKey: createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" }),
  };
}

async function kmsError(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name, message, status: $metadata?.httpStatusCode };
  }
  assert.fail("the call succeeded");
}

describe("the local KMS, through the real SDK client", () => {
  test("describes a P-256 signing key by key ID, key ARN and alias", async () => {
    const client = kms.client();
    const key = await newKey(client);
    await client.send(
      new CreateAliasCommand({ AliasName: "alias/etcd-asg-test-peer-ca", TargetKeyId: key.id }),
    );
    for (const keyId of [
      key.id,
      key.arn,
      "alias/etcd-asg-test-peer-ca",
      `arn:aws:kms:us-east-1:123456789012:alias/etcd-asg-test-peer-ca`,
    ]) {
      const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
      assert.equal(KeyMetadata?.Arn, key.arn, keyId);
      assert.equal(KeyMetadata?.KeySpec, "ECC_NIST_P256");
      assert.equal(KeyMetadata?.KeyUsage, "SIGN_VERIFY");
      assert.equal(KeyMetadata?.KeyState, "Enabled");
      assert.deepEqual(KeyMetadata?.SigningAlgorithms, ["ECDSA_SHA_256"]);
    }
    assert.match(key.arn, /^arn:aws:kms:us-east-1:123456789012:key\/[0-9a-f-]{36}$/);
  });

  test("signs a message (RAW) and a digest (DIGEST) with DER signatures that verify against the public key", async () => {
    const client = kms.client();
    const key = await newKey(client);
    const message = Buffer.from("to be signed");
    const raw = await client.send(
      new SignCommand({ KeyId: key.arn, Message: message, SigningAlgorithm: "ECDSA_SHA_256" }),
    );
    const digest = await client.send(
      new SignCommand({
        KeyId: key.arn,
        Message: sha256(message),
        MessageType: "DIGEST",
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    );
    for (const signature of [raw.Signature, digest.Signature]) {
      assert.ok(signature);
      assert.equal(signature[0], 0x30, "a DER SEQUENCE");
      assert.ok(verify("sha256", message, key.publicKey, signature));
    }
    assert.equal(raw.KeyId, key.arn);
  });

  test("Verify accepts a good signature and answers KMSInvalidSignatureException for another message", async () => {
    const client = kms.client();
    const key = await newKey(client);
    const signature = (
      await client.send(
        new SignCommand({ KeyId: key.arn, Message: Buffer.from("a"), SigningAlgorithm: "ECDSA_SHA_256" }),
      )
    ).Signature;
    const good = await client.send(
      new VerifyCommand({
        KeyId: key.arn,
        Message: sha256("a"),
        MessageType: "DIGEST",
        Signature: signature,
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    );
    assert.equal(good.SignatureValid, true);
    const bad = await kmsError(
      client.send(
        new VerifyCommand({
          KeyId: key.arn,
          Message: Buffer.from("b"),
          Signature: signature,
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      ),
    );
    assert.equal(bad.name, "KMSInvalidSignatureException");
    assert.equal(bad.status, 400);
  });

  test("answers KMS's errors, with KMS's messages", async () => {
    const client = kms.client();
    const key = await newKey(client);
    const symmetric = await client.send(new CreateKeyCommand({}));
    const cases: [string, Promise<unknown>, string, RegExp][] = [
      [
        "an unknown key ID",
        client.send(new DescribeKeyCommand({ KeyId: "00000000-0000-0000-0000-000000000000" })),
        "NotFoundException",
        /^Key 'arn:aws:kms:us-east-1:123456789012:key\/00000000-0000-0000-0000-000000000000' does not exist$/,
      ],
      [
        "an unknown alias",
        client.send(new DescribeKeyCommand({ KeyId: "alias/none" })),
        "NotFoundException",
        /^Alias arn:aws:kms:us-east-1:123456789012:alias\/none is not found\.$/,
      ],
      [
        "a malformed key ID",
        client.send(new DescribeKeyCommand({ KeyId: "not-a-key" })),
        "NotFoundException",
        /^Invalid keyId not-a-key$/,
      ],
      [
        "a digest of the wrong length",
        client.send(
          new SignCommand({
            KeyId: key.arn,
            Message: Buffer.alloc(20),
            MessageType: "DIGEST",
            SigningAlgorithm: "ECDSA_SHA_256",
          }),
        ),
        "ValidationException",
        /^Digest is invalid length for algorithm ECDSA_SHA_256\.$/,
      ],
      [
        "an algorithm the key does not have",
        client.send(
          new SignCommand({ KeyId: key.arn, Message: Buffer.from("m"), SigningAlgorithm: "ECDSA_SHA_384" }),
        ),
        "InvalidKeyUsageException",
        /incompatible with key spec ECC_NIST_P256/,
      ],
      [
        "signing with a symmetric key",
        client.send(
          new SignCommand({
            KeyId: symmetric.KeyMetadata?.Arn,
            Message: Buffer.from("m"),
            SigningAlgorithm: "ECDSA_SHA_256",
          }),
        ),
        "InvalidKeyUsageException",
        /ENCRYPT_DECRYPT which is not valid for signing/,
      ],
      [
        "a key spec the emulator does not make",
        client.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" })),
        "UnsupportedOperationException",
        /RSA_2048 is not emulated/,
      ],
      [
        "an asymmetric key without a usage",
        client.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256" })),
        "ValidationException",
        /must specify a KeyUsage/,
      ],
    ];
    for (const [what, call, name, message] of cases) {
      const error = await kmsError(call);
      assert.equal(error.name, name, what);
      assert.match(error.message, message, what);
      assert.equal(error.status, 400, what);
    }
  });

  test("a disabled key refuses to sign with DisabledException until enabled again", async () => {
    const client = kms.client();
    const key = await newKey(client);
    const sign = () =>
      client.send(
        new SignCommand({ KeyId: key.arn, Message: Buffer.from("m"), SigningAlgorithm: "ECDSA_SHA_256" }),
      );
    await client.send(new DisableKeyCommand({ KeyId: key.arn }));
    assert.equal(
      (await client.send(new DescribeKeyCommand({ KeyId: key.arn }))).KeyMetadata?.KeyState,
      "Disabled",
    );
    const error = await kmsError(sign());
    assert.equal(error.name, "DisabledException");
    assert.equal(error.message, `${key.arn} is disabled.`);
    await client.send(new EnableKeyCommand({ KeyId: key.arn }));
    assert.ok((await sign()).Signature);
  });

  test("the authorize hook sees the operation, IAM action and key ARN, and its answer is sent instead", async () => {
    const client = kms.client();
    const key = await newKey(client);
    denied.add(key.arn);
    seen.length = 0;
    const error = await kmsError(
      client.send(
        new SignCommand({ KeyId: key.id, Message: Buffer.from("m"), SigningAlgorithm: "ECDSA_SHA_256" }),
      ),
    );
    assert.equal(error.name, "AccessDeniedException");
    assert.match(error.message, new RegExp(DENIED_KEY_DESCRIPTION));
    const request = seen.at(-1);
    assert.equal(request?.operation, "Sign");
    assert.equal(request?.action, "kms:Sign");
    assert.equal(request?.keyArn, key.arn);
    assert.match(
      String(request?.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/kms\/aws4_request/,
    );
    assert.deepEqual(JSON.parse(request?.body.toString() ?? "{}").KeyId, key.id);
  });

  test("an unknown operation is UnknownOperationException, a body that is not JSON SerializationException", async () => {
    const response = await fetch(kms.emulator().endpoint, {
      method: "POST",
      headers: { "x-amz-target": "TrentService.Encrypt", "content-type": "application/x-amz-json-1.1" },
      body: "{}",
    });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("content-type"), "application/x-amz-json-1.1");
    assert.deepEqual(await response.json(), { __type: "UnknownOperationException" });
    const garbled = await fetch(kms.emulator().endpoint, {
      method: "POST",
      headers: { "x-amz-target": "TrentService.Sign", "content-type": "application/x-amz-json-1.1" },
      body: "{not json",
    });
    assert.equal(garbled.status, 400);
    assert.equal(((await garbled.json()) as { __type: string }).__type, "SerializationException");
  });

  test("GetPublicKey answers a public key and nothing private", async () => {
    const client = kms.client();
    const key = await newKey(client);
    const answer = await client.send(new GetPublicKeyCommand({ KeyId: key.arn }));
    const publicKey = createPublicKey({
      key: Buffer.from(answer.PublicKey ?? []),
      format: "der",
      type: "spki",
    });
    assert.equal(publicKey.type, "public");
    assert.equal(publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const { $metadata: _, ...fields } = answer;
    assert.deepEqual(Object.keys(fields).sort(), [
      "CustomerMasterKeySpec",
      "KeyId",
      "KeySpec",
      "KeyUsage",
      "PublicKey",
      "SigningAlgorithms",
    ]);
    assert.doesNotMatch(JSON.stringify(kms.emulator().keys()), /PRIVATE|"d":/);
  });
});

describe("the KMS adapter", () => {
  test("signs a SHA-256 digest and reads the public key once per key", async () => {
    const key = await newKey(kms.client());
    const signer = new KmsSigningKey(kms.client(), key.arn);
    kms.emulator().resetCallCounts();
    const signature = await signer.signDigest(sha256("tbs"));
    assert.ok(verify("sha256", Buffer.from("tbs"), key.publicKey, signature));
    const first = await signer.publicKey();
    assert.deepEqual(await signer.publicKey(), first);
    assert.deepEqual(kms.emulator().callCounts(), { Sign: 1, GetPublicKey: 1 });
  });

  const faults: [KmsFault, string][] = [
    ["throttling", "ThrottlingException"],
    ["internal", "KMSInternalException"],
    ["key-unavailable", "KeyUnavailableException"],
    ["dependency-timeout", "DependencyTimeoutException"],
  ];
  for (const [fault, code] of faults) {
    test(`${code} is a retryable KmsUnavailableError`, async () => {
      const key = await newKey(kms.client());
      const signer = new KmsSigningKey(kms.client(), key.arn);
      kms.emulator().injectFaults(() => fault);
      try {
        await assert.rejects(signer.signDigest(sha256("x")), (error: Error) => {
          assert.ok(error instanceof KmsUnavailableError);
          assert.equal(error.name, "KmsUnavailableError");
          assert.match(error.message, new RegExp(`KMS Sign with key ${key.arn} failed: ${code}`));
          return isRetryable(error);
        });
      } finally {
        kms.emulator().injectFaults(undefined);
      }
    });
  }

  test("a refusal by IAM is a KmsAccessDeniedError, not retryable", async () => {
    const key = await newKey(kms.client());
    denied.add(key.arn);
    await assert.rejects(
      new KmsSigningKey(kms.client(), key.arn).signDigest(sha256("x")),
      (error: Error) => error instanceof KmsAccessDeniedError && !isRetryable(error),
    );
  });

  test("an unknown key, a disabled key and a symmetric key are errors of their own, not retryable", async () => {
    const client = kms.client();
    const unknown = new KmsSigningKey(client, "alias/nothing-here");
    await assert.rejects(
      unknown.publicKey(),
      (error: Error) => error instanceof KmsKeyNotFoundError && !isRetryable(error),
    );
    const key = await newKey(client);
    await client.send(new DisableKeyCommand({ KeyId: key.arn }));
    await assert.rejects(
      new KmsSigningKey(client, key.arn).signDigest(sha256("x")),
      (error: Error) => error instanceof KmsKeyDisabledError && !isRetryable(error),
    );
    const symmetric = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? "";
    await assert.rejects(
      new KmsSigningKey(client, symmetric).publicKey(),
      (error: Error) => error instanceof KmsRequestError && error.code === "UnsupportedOperationException",
    );
  });

  test("KMS out of reach is a retryable KmsUnavailableError, and a failed public key fetch is asked again", async () => {
    const key = await newKey(kms.client());
    const gone = new KMSClient({
      endpoint: "http://127.0.0.1:9",
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    try {
      const signer = new KmsSigningKey(gone, key.arn);
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(
          signer.publicKey(),
          (error: Error) => error instanceof KmsUnavailableError && isRetryable(error),
        );
      }
    } finally {
      gone.destroy();
    }
  });
});

const awsOnPath = (process.env.PATH ?? "").split(delimiter).some((dir) => existsSync(join(dir, "aws")));

describe("the local KMS, through the aws CLI (botocore's parsers)", {
  skip: awsOnPath ? false : "the `aws` CLI is not on PATH",
}, () => {
  /** `aws kms …` against the emulator with dummy credentials; resolves to stdout, or stderr on failure. */
  async function aws(...args: string[]): Promise<string> {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_PAGER: "",
    };
    try {
      const endpoint = ["--endpoint-url", kms.emulator().endpoint, "--region", "us-east-1"];
      return (await promisify(execFile)("aws", ["kms", ...args, ...endpoint], { env })).stdout;
    } catch (error) {
      return String((error as { stderr?: unknown }).stderr);
    }
  }

  test("creates a key, signs with it, and reports a missing alias as KMS does", async () => {
    const created = JSON.parse(
      await aws("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY"),
    );
    const keyId = created.KeyMetadata.KeyId;
    // fileb:// passes the bytes as they are in both CLI v1 and v2 (they read a blob argument differently).
    const dir = mkdtempSync(join(tmpdir(), "etcd-asg-kms-cli-"));
    let signed: { KeyId: string; Signature: string };
    try {
      writeFileSync(join(dir, "message"), "hello");
      signed = JSON.parse(
        await aws(
          "sign",
          "--key-id",
          keyId,
          "--message",
          `fileb://${join(dir, "message")}`,
          "--signing-algorithm",
          "ECDSA_SHA_256",
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(signed.KeyId, created.KeyMetadata.Arn);
    const der = JSON.parse(await aws("get-public-key", "--key-id", keyId)).PublicKey;
    const publicKey = createPublicKey({ key: Buffer.from(der, "base64"), format: "der", type: "spki" });
    assert.ok(verify("sha256", Buffer.from("hello"), publicKey, Buffer.from(signed.Signature, "base64")));
    assert.match(
      await aws("describe-key", "--key-id", "alias/nope"),
      /NotFoundException\) when calling the DescribeKey operation: Alias .*alias\/nope is not found/,
    );
  });
});
