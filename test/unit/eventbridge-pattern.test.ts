// EventBridge event-pattern matching as the simulator routes events: the documented language case by
// case (match and no-match side by side), EventBridge's refusals of invalid patterns, and the
// stack's own lifecycle rules against the events the AWS emulator really emits.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { AwsEmulator } from "../../local/aws/emulator";
import type { LifecycleEvent } from "../../local/aws/types";
import {
  compileEventPattern,
  InvalidEventPatternError,
  matchesPattern,
} from "../../local/eventbridge/pattern";

/** [what, pattern, event, matches] */
type Case = readonly [string, Record<string, unknown>, unknown, boolean];

const EVENT = {
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "111122223333",
  time: "2017-12-22T18:43:48Z",
  region: "us-west-1",
  resources: ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  detail: {
    "instance-id": "i-1234567890abcdef0",
    state: "terminated",
    "c-count": 5,
    "x-limit": 301.8,
    "source-ip": "10.0.0.33",
    "source-ip6": "2001:db8::1",
    flag: true,
    empty: "",
    nothing: null,
    tags: ["Custom_Alert", "Insider"],
    nested: [["a", "b"], ["c"]],
    "no-tags": [],
    "no-object": {},
    "c-object": { c1: 100 },
    file: "/usr/lib/libfoo.so",
    employees: [
      { firstName: "John", lastName: "Doe" },
      { firstName: "Anna", lastName: "Smith" },
    ],
  },
};

const CASES: readonly Case[] = [
  // Exact values, arrays as OR, nesting.
  ["a string value", { source: ["aws.ec2"] }, EVENT, true],
  ["a different string", { source: ["aws.s3"] }, EVENT, false],
  ["any of several values", { source: ["aws.s3", "aws.ec2"] }, EVENT, true],
  ["strings are case-sensitive", { source: ["AWS.EC2"] }, EVENT, false],
  ["a nested field", { detail: { state: ["terminated"] } }, EVENT, true],
  ["all fields must match (AND)", { source: ["aws.ec2"], detail: { state: ["running"] } }, EVENT, false],
  ["a missing field does not match", { detail: { missing: ["x"] } }, EVENT, false],
  ["a number", { detail: { "c-count": [5] } }, EVENT, true],
  ["a number is not its string", { detail: { "c-count": ["5"] } }, EVENT, false],
  ["a string is not a number", { detail: { state: [5] } }, EVENT, false],
  ["a boolean", { detail: { flag: [true] } }, EVENT, true],
  ["true is not 1", { detail: { flag: [1] } }, EVENT, false],
  ["null matches null", { detail: { nothing: [null] } }, EVENT, true],
  ["null does not match the empty string", { detail: { empty: [null] } }, EVENT, false],
  ["the empty string matches the empty string", { detail: { empty: [""] } }, EVENT, true],
  ["the empty string does not match null", { detail: { nothing: [""] } }, EVENT, false],
  ["null does not match a missing field", { detail: { missing: [null] } }, EVENT, false],
  ["an object in the event is not a value", { detail: { "c-object": [100] } }, EVENT, false],
  ["a pattern deeper than the event", { detail: { state: { deeper: ["x"] } } }, EVENT, false],
  // Arrays in the event.
  ["an array field: any element", { detail: { tags: ["Insider"] } }, EVENT, true],
  ["an array field: no element", { detail: { tags: ["Outsider"] } }, EVENT, false],
  ["resources: pattern and event intersect", { resources: ["x", EVENT.resources[0]] }, EVENT, true],
  ["nested arrays are crushed", { detail: { nested: ["c"] } }, EVENT, true],
  [
    "array of objects: a field of one element",
    { detail: { employees: { firstName: ["Anna"] } } },
    EVENT,
    true,
  ],
  [
    "array of objects: two fields of the same element",
    { detail: { employees: { firstName: ["Anna"], lastName: ["Smith"] } } },
    EVENT,
    true,
  ],
  [
    "array of objects: fields from different elements do not combine",
    { detail: { employees: { firstName: ["Anna"], lastName: ["Doe"] } } },
    EVENT,
    false,
  ],
  // prefix, suffix, equals-ignore-case, wildcard.
  ["prefix", { time: [{ prefix: "2017-12-22" }] }, EVENT, true],
  ["prefix that differs", { time: [{ prefix: "2017-10" }] }, EVENT, false],
  ["prefix is case-sensitive", { source: [{ prefix: "AWS." }] }, EVENT, false],
  ["prefix ignoring case", { source: [{ prefix: { "equals-ignore-case": "AWS." } }] }, EVENT, true],
  ["prefix only on strings", { detail: { "c-count": [{ prefix: "5" }] } }, EVENT, false],
  ["suffix", { source: [{ suffix: ".ec2" }] }, EVENT, true],
  ["suffix that differs", { source: [{ suffix: ".s3" }] }, EVENT, false],
  ["suffix ignoring case", { source: [{ suffix: { "equals-ignore-case": "EC2" } }] }, EVENT, true],
  ["equals-ignore-case", { source: [{ "equals-ignore-case": "AWS.EC2" }] }, EVENT, true],
  ["equals-ignore-case is still whole-value", { source: [{ "equals-ignore-case": "AWS" }] }, EVENT, false],
  ["wildcard", { detail: { file: [{ wildcard: "*/lib/*.so" }] } }, EVENT, true],
  ["wildcard anchors both ends", { detail: { file: [{ wildcard: "lib/*" }] } }, EVENT, false],
  [
    "wildcard with an escaped star",
    { detail: { star: [{ wildcard: "a\\*b" }] } },
    { detail: { star: "a*b" } },
    true,
  ],
  [
    "an escaped star is not a wildcard",
    { detail: { star: [{ wildcard: "a\\*b" }] } },
    { detail: { star: "axb" } },
    false,
  ],
  // anything-but.
  ["anything-but a value", { detail: { state: [{ "anything-but": "running" }] } }, EVENT, true],
  ["anything-but the value itself", { detail: { state: [{ "anything-but": "terminated" }] } }, EVENT, false],
  [
    "anything-but a list",
    { detail: { state: [{ "anything-but": ["running", "terminated"] }] } },
    EVENT,
    false,
  ],
  ["anything-but a number", { detail: { "c-count": [{ "anything-but": 6 }] } }, EVENT, true],
  ["anything-but the number itself", { detail: { "c-count": [{ "anything-but": [4, 5] }] } }, EVENT, false],
  ["anything-but needs the field", { detail: { missing: [{ "anything-but": "x" }] } }, EVENT, false],
  ["anything-but accepts other types", { detail: { flag: [{ "anything-but": "x" }] } }, EVENT, true],
  [
    "anything-but on an array: one element suffices",
    { detail: { tags: [{ "anything-but": "Insider" }] } },
    EVENT,
    true,
  ],
  ["anything-but prefix", { source: [{ "anything-but": { prefix: "aws." } }] }, EVENT, false],
  ["anything-but prefix, other prefix", { source: [{ "anything-but": { prefix: "custom." } }] }, EVENT, true],
  ["anything-but suffix", { detail: { file: [{ "anything-but": { suffix: ".so" } }] } }, EVENT, false],
  [
    "anything-but equals-ignore-case",
    { detail: { state: [{ "anything-but": { "equals-ignore-case": ["RUNNING", "TERMINATED"] } }] } },
    EVENT,
    false,
  ],
  [
    "anything-but wildcard",
    { detail: { file: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
    EVENT,
    false,
  ],
  [
    "anything-but wildcard list, none matching",
    { detail: { file: [{ "anything-but": { wildcard: ["*/bin/*", "*.txt"] } }] } },
    EVENT,
    true,
  ],
  // numeric.
  ["numeric range", { detail: { "c-count": [{ numeric: [">", 0, "<=", 5] }] } }, EVENT, true],
  [
    "numeric open top excludes the bound",
    { detail: { "c-count": [{ numeric: [">", 0, "<", 5] }] } },
    EVENT,
    false,
  ],
  ["numeric equals", { detail: { "x-limit": [{ numeric: ["=", 3.018e2] }] } }, EVENT, true],
  ["numeric lower bound", { detail: { "c-count": [{ numeric: [">=", 6] }] } }, EVENT, false],
  ["numeric only on numbers", { detail: { state: [{ numeric: [">", 0] }] } }, EVENT, false],
  [
    "numeric on a number in a string",
    { detail: { n: [{ numeric: [">", 0] }] } },
    { detail: { n: "5" } },
    false,
  ],
  // exists.
  ["exists true", { detail: { state: [{ exists: true }] } }, EVENT, true],
  ["exists true on a missing field", { detail: { missing: [{ exists: true }] } }, EVENT, false],
  ["exists false on a missing field", { detail: { missing: [{ exists: false }] } }, EVENT, true],
  ["exists false on a present field", { detail: { state: [{ exists: false }] } }, EVENT, false],
  ["exists true on null", { detail: { nothing: [{ exists: true }] } }, EVENT, true],
  ["exists false on an intermediate node", { detail: { "c-object": [{ exists: false }] } }, EVENT, true],
  ["exists true on an intermediate node", { detail: { "c-object": [{ exists: true }] } }, EVENT, false],
  ["an empty array does not exist", { detail: { "no-tags": [{ exists: false }] } }, EVENT, true],
  ["an empty object does not exist", { detail: { "no-object": [{ exists: true }] } }, EVENT, false],
  ["exists false or a value", { detail: { state: [{ exists: false }, "terminated"] } }, EVENT, true],
  // cidr.
  ["cidr", { detail: { "source-ip": [{ cidr: "10.0.0.0/24" }] } }, EVENT, true],
  ["cidr outside", { detail: { "source-ip": [{ cidr: "10.0.1.0/24" }] } }, EVENT, false],
  ["cidr IPv6", { detail: { "source-ip6": [{ cidr: "2001:db8::/32" }] } }, EVENT, true],
  ["cidr of the other family", { detail: { "source-ip": [{ cidr: "2001:db8::/32" }] } }, EVENT, false],
  ["cidr on a non-address", { detail: { state: [{ cidr: "10.0.0.0/8" }] } }, EVENT, false],
  // $or.
  [
    "$or: one alternative matches",
    { source: ["aws.ec2"], $or: [{ detail: { state: ["running"] } }, { region: ["us-west-1"] }] },
    EVENT,
    true,
  ],
  [
    "$or: no alternative matches",
    { $or: [{ detail: { state: ["running"] } }, { region: ["eu-west-1"] }] },
    EVENT,
    false,
  ],
  [
    "$or nested inside a field",
    { detail: { $or: [{ "c-count": [{ numeric: [">", 10] }] }, { "x-limit": [301.8] }] } },
    EVENT,
    true,
  ],
  [
    "$or with an AND inside",
    { $or: [{ source: ["aws.ec2"], region: ["eu-west-1"] }, { account: ["0"] }] },
    EVENT,
    false,
  ],
];

describe("EventBridge pattern matching", () => {
  for (const [what, pattern, event, expected] of CASES) {
    test(`${expected ? "matches" : "does not match"}: ${what}`, () => {
      assert.equal(matchesPattern(pattern, event), expected);
    });
  }

  test("takes the pattern as JSON text, as a template may hold it", () => {
    assert.equal(compileEventPattern('{"source":["aws.ec2"]}').matches(EVENT), true);
  });

  test("an event that is not an object matches only absence", () => {
    assert.equal(matchesPattern({ source: [{ exists: false }] }, "text"), true);
    assert.equal(matchesPattern({ source: ["aws.ec2"] }, null), false);
  });
});

/** [what, pattern, the reason's words] */
const INVALID: ReadonlyArray<readonly [string, unknown, RegExp]> = [
  ["JSON that does not parse", "{source:", /Invalid JSON/],
  ["a pattern that is not an object", ["aws.ec2"], /Filter is not an object/],
  ["an empty pattern", {}, /Empty objects are not allowed/],
  ["an empty nested object", { detail: {} }, /Empty objects are not allowed.*detail/],
  ["a bare value", { source: "aws.ec2" }, /"source" must be an object or an array/],
  ["an empty value list", { source: [] }, /Empty arrays are not allowed/],
  ["a nested array", { source: [["aws.ec2"]] }, /Match value must be String, number/],
  ["an unknown operator", { source: [{ regex: "a.*" }] }, /Unrecognized match type regex.*source\[0\]/],
  ["two operators in one object", { source: [{ prefix: "a", suffix: "b" }] }, /Only one key/],
  ["a non-string prefix", { source: [{ prefix: 5 }] }, /prefix match pattern must be a string/],
  ["a non-string suffix", { source: [{ suffix: true }] }, /suffix match pattern must be a string/],
  ["a non-string equals-ignore-case", { source: [{ "equals-ignore-case": 1 }] }, /must be a string/],
  ["exists that is not a boolean", { source: [{ exists: "yes" }] }, /either true or false/],
  ["a numeric that is not a list", { n: [{ numeric: 5 }] }, /must be an array/],
  [
    "a numeric with an unknown operator",
    { n: [{ numeric: ["!=", 5] }] },
    /Unrecognized numeric range operator/,
  ],
  ["a numeric with a string bound", { n: [{ numeric: [">", "5"] }] }, /Value of > must be numeric/],
  ["a numeric range upside down", { n: [{ numeric: [">", 10, "<", 5] }] }, /Bottom must be less than top/],
  ["a numeric range with two lower bounds", { n: [{ numeric: [">", 1, ">", 5] }] }, /Too many elements/],
  ["a numeric upper bound first", { n: [{ numeric: ["<", 10, ">", 5] }] }, /Too many elements/],
  ["a numeric beyond EventBridge's range", { n: [{ numeric: [">", 6e9] }] }, /-5.0e9 and 5.0e9/],
  ["anything-but of mixed types", { s: [{ "anything-but": ["a", 1] }] }, /mixed type/],
  ["anything-but of an empty list", { s: [{ "anything-but": [] }] }, /mixed type/],
  ["anything-but of a boolean", { s: [{ "anything-but": true }] }, /array or single string\/number/],
  ["anything-but of an empty prefix", { s: [{ "anything-but": { prefix: "" } }] }, /Null prefix\/suffix/],
  ["anything-but of an unknown operator", { s: [{ "anything-but": { numeric: [">", 1] } }] }, /Unsupported/],
  ["a malformed cidr", { ip: [{ cidr: "10.0.0.0" }] }, /Malformed CIDR/],
  ["a cidr with too many bits", { ip: [{ cidr: "10.0.0.0/33" }] }, /Malformed CIDR/],
  ["a wildcard with consecutive stars", { s: [{ wildcard: "a**b" }] }, /Consecutive wildcard/],
  ["a wildcard escaping another character", { s: [{ wildcard: "a\\b" }] }, /Backslash/],
  ["$or that is not a list", { $or: { a: ["b"] } }, /must be an Array/],
  ["$or with one alternative", { $or: [{ a: ["b"] }] }, /at least 2 Objects/],
  ["$or with a non-object", { $or: [{ a: ["b"] }, ["c"]] }, /Only JSON object/],
  ["a reserved word inside $or", { $or: [{ prefix: ["b"] }, { a: ["c"] }] }, /reserved fieldName/],
];

describe("EventBridge pattern validation", () => {
  for (const [what, pattern, reason] of INVALID) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => compileEventPattern(pattern),
        (error: unknown) =>
          error instanceof InvalidEventPatternError &&
          error.name === "InvalidEventPatternError" &&
          reason.test(error.message),
      );
    });
  }
});

describe("the stack's lifecycle rules", () => {
  // The patterns cdk/lib/control-plane.ts synthesizes (as in the template), against the events the
  // AWS emulator emits in AWS's shape.
  const rule = (detailType: string, hook: string) => ({
    source: ["aws.autoscaling"],
    "detail-type": [detailType],
    detail: { AutoScalingGroupName: ["etcd-group"], LifecycleHookName: [hook] },
  });
  const launchRule = rule("EC2 Instance-launch Lifecycle Action", "etcd-asg-launch");
  const terminateRule = rule("EC2 Instance-terminate Lifecycle Action", "etcd-asg-terminate");
  const emulator = new AwsEmulator({ privateIps: { first: "127.0.43.1", last: "127.0.43.9" } });
  after(() => emulator.stop());

  async function launchEvent(groupName: string): Promise<LifecycleEvent> {
    const event = new Promise<LifecycleEvent>((resolve) => emulator.onLifecycleEvent(resolve));
    emulator.createAutoScalingGroup({
      name: groupName,
      minSize: 0,
      maxSize: 1,
      desiredCapacity: 1,
      availabilityZones: ["us-east-1a"],
      lifecycleHooks: [
        {
          name: "etcd-asg-launch",
          transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          heartbeatTimeoutMs: 60_000,
        },
      ],
    });
    return event;
  }

  test("the launch rule takes the group's launch event and the terminate rule does not", async () => {
    const event = await launchEvent("etcd-group");
    assert.equal(matchesPattern(launchRule, event), true);
    assert.equal(matchesPattern(terminateRule, event), false);
  });

  test("the launch rule does not take another group's launch event", async () => {
    const event = await launchEvent("other-group");
    assert.equal(matchesPattern(launchRule, event), false);
  });
});
