// How SDK and network errors become the AWS adapter's typed errors, for the shapes no local server
// produces on demand (the emulator tests cover the rest).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AwsAdapterError,
  AwsRequestError,
  AwsThrottledError,
  AwsUnavailableError,
  translateAwsError,
} from "../../lambdas/adapters/aws";
import { EtcdAsgError } from "../../lambdas/errors";

function serviceError(name: string, status: number, message = "boom") {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

test("throttling codes of both services are retryable whatever the status", () => {
  for (const [name, status] of [
    ["Throttling", 400],
    ["RequestLimitExceeded", 503],
    ["ThrottlingException", 400],
  ] as const) {
    const translated = translateAwsError(serviceError(name, status), "DescribeInstances");
    assert.ok(translated instanceof AwsThrottledError, name);
    assert.equal(translated.retryable, true);
  }
});

test("a 5xx answer is a retryable AwsUnavailableError carrying the SDK error as cause", () => {
  const cause = serviceError("ServiceUnavailable", 503, "try later");
  const translated = translateAwsError(cause, "SetDesiredCapacity");
  assert.ok(translated instanceof AwsUnavailableError);
  assert.equal(translated.cause, cause);
  assert.equal(translated.message, "SetDesiredCapacity failed: ServiceUnavailable: try later");
});

test("a refused request keeps its AWS code and is not retryable", () => {
  const translated = translateAwsError(serviceError("AccessDenied", 403), "CompleteLifecycleAction");
  assert.ok(translated instanceof AwsRequestError);
  assert.equal(translated.code, "AccessDenied");
  assert.equal(translated.retryable, false);
  assert.ok(translated instanceof EtcdAsgError);
});

test("network failures without an answer are retryable; other local failures are not", () => {
  const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  assert.ok(translateAwsError(reset, "DescribeInstances") instanceof AwsUnavailableError);
  const timeout = Object.assign(new Error("timed out"), { name: "TimeoutError" });
  assert.ok(translateAwsError(timeout, "DescribeInstances") instanceof AwsUnavailableError);
  const noCredentials = Object.assign(new Error("Could not load credentials"), {
    name: "CredentialsProviderError",
  });
  const translated = translateAwsError(noCredentials, "DescribeInstances");
  assert.equal(translated.constructor, AwsAdapterError);
  assert.equal(translated.retryable, false);
});
