// Generators of malformed and hostile EventBridge lifecycle-hook events for the launch and terminate
// handlers. Each input starts from a well-formed event about an instance that does not exist and
// breaks exactly one thing, so the refusal can be checked for naming it. Real instance IDs appear
// only in warm-pool events, which must be ignored.
import fc from "fast-check";
import {
  type FuzzInput,
  type FuzzTarget,
  UNKNOWN_INSTANCE,
  withExtra,
  withoutPath,
  withPath,
} from "./fuzz-input";
import {
  deepNesting,
  extraProperties,
  hugeString,
  injectionString,
  notAnObject,
  notAString,
} from "./hostile-values";

type Kind = "launch" | "terminate";

const DETAIL_TYPE = {
  launch: "EC2 Instance-launch Lifecycle Action",
  terminate: "EC2 Instance-terminate Lifecycle Action",
} as const;
const TRANSITION = {
  launch: "autoscaling:EC2_INSTANCE_LAUNCHING",
  terminate: "autoscaling:EC2_INSTANCE_TERMINATING",
} as const;

/** Every field, with what a refusal about it must mention (zod's path, or the check's own words). */
const FIELDS = {
  "detail-type": /detail-type|expected a/,
  source: /source/,
  detail: /detail/,
  "detail.LifecycleActionToken": /LifecycleActionToken/,
  "detail.AutoScalingGroupName": /AutoScalingGroupName|Auto Scaling group/,
  "detail.LifecycleHookName": /LifecycleHookName|lifecycle hook/,
  "detail.EC2InstanceId": /EC2InstanceId/,
  "detail.LifecycleTransition": /LifecycleTransition|expected a/,
  "detail.NotificationMetadata": /NotificationMetadata/,
  "detail.Origin": /Origin/,
  "detail.Destination": /Destination/,
} as const;
type Field = keyof typeof FIELDS;
const REQUIRED: readonly Field[] = [
  "detail-type",
  "source",
  "detail",
  "detail.LifecycleActionToken",
  "detail.AutoScalingGroupName",
  "detail.LifecycleHookName",
  "detail.EC2InstanceId",
  "detail.LifecycleTransition",
];
const STRING_FIELDS = (Object.keys(FIELDS) as Field[]).filter((f) => f !== "detail");
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const TOKEN = /^[0-9a-fA-F-]{36}$/;

/** A syntactically valid instance ID that is none of the group's. */
export function ghostInstanceId(target: FuzzTarget): fc.Arbitrary<string> {
  const hex = fc.constantFrom(..."0123456789abcdef");
  return fc
    .oneof(
      fc.string({ unit: hex, minLength: 17, maxLength: 17 }),
      fc.string({ unit: hex, minLength: 8, maxLength: 8 }),
    )
    .map((digits) => `i-${digits}`)
    .filter((id) => !target.instanceIds.includes(id));
}

interface Base {
  readonly kind: Kind;
  readonly event: Record<string, unknown>;
}

function wellFormed(target: FuzzTarget, kind: Kind, instanceId: fc.Arbitrary<string>): fc.Arbitrary<Base> {
  return fc
    .record({
      id: fc.uuid(),
      token: fc.uuid(),
      instanceId,
      time: fc.date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true }),
      metadata: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
    })
    .map(({ id, token, instanceId, time, metadata }) => {
      const hookName = kind === "launch" ? target.launchHook : target.terminateHook;
      const moves =
        kind === "launch"
          ? { Origin: "EC2", Destination: "AutoScalingGroup" }
          : { Origin: "AutoScalingGroup", Destination: "EC2" };
      return {
        kind,
        event: {
          version: "0",
          id,
          "detail-type": DETAIL_TYPE[kind],
          source: "aws.autoscaling",
          account: target.account,
          time: time.toISOString(),
          region: "us-east-1",
          resources: [
            `arn:aws:autoscaling:us-east-1:${target.account}:autoScalingGroup:${id}:autoScalingGroupName/${target.asgName}`,
          ],
          detail: {
            LifecycleActionToken: token,
            AutoScalingGroupName: target.asgName,
            LifecycleHookName: hookName,
            EC2InstanceId: instanceId,
            LifecycleTransition: TRANSITION[kind],
            ...(metadata === undefined ? {} : { NotificationMetadata: metadata }),
            ...moves,
          },
        },
      };
    });
}

function input(base: Base, category: string, event: unknown, names: RegExp): FuzzInput {
  const token = (event as { detail?: { LifecycleActionToken?: unknown } } | null)?.detail
    ?.LifecycleActionToken;
  return {
    handler: base.kind,
    category,
    event,
    names,
    ...(typeof token === "string" && TOKEN.test(token) ? { token } : {}),
  };
}

function pathOf(field: Field): string[] {
  return field.split(".");
}

/** A string that fails the instance-ID check in some way. */
function badInstanceId(): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.constantFrom(
        "i-",
        "i-0123456",
        "i-0123456789ABCDEF0",
        "i-0123456789abcdef01",
        "I-0123456789abcdef0",
        "0123456789abcdef0",
        "i_0123456789abcdef0",
        " i-0123456789abcdef0",
        "i-0123456789abcdef0\n",
        "i-0123456789abcdef0/../../etc",
        "mi-0123456789abcdef0",
        "i-g123456789abcdef0",
      ),
      injectionString(),
    )
    .filter((id) => !INSTANCE_ID.test(id));
}

function lifecycleInputs(target: FuzzTarget, kind: Kind): fc.Arbitrary<FuzzInput> {
  const ghost = wellFormed(target, kind, ghostInstanceId(target));
  const field = fc.constantFrom(...STRING_FIELDS);
  const otherKind: Kind = kind === "launch" ? "terminate" : "launch";
  const foreignGroup = fc
    .oneof(
      fc.constantFrom(
        `${target.asgName} `,
        target.asgName.toUpperCase(),
        `${target.asgName}\u0000`,
        "etcd-asg",
        "other-asg",
      ),
      injectionString(),
    )
    .filter((name) => name !== target.asgName);
  const foreignHook = fc
    .oneof(
      fc.constantFrom(
        kind === "launch" ? target.terminateHook : target.launchHook,
        `${kind === "launch" ? target.launchHook : target.terminateHook}-2`,
        "some-other-hook",
      ),
      injectionString(),
    )
    .filter((name) => name !== (kind === "launch" ? target.launchHook : target.terminateHook));
  const wrongPair = fc
    .record({
      detailType: fc.constantFrom(
        DETAIL_TYPE.launch,
        DETAIL_TYPE.terminate,
        "EC2 Instance Launch Successful",
        "EC2 Instance Terminate Successful",
        `${DETAIL_TYPE[kind]} `,
        DETAIL_TYPE[kind].toLowerCase(),
        "Scheduled Event",
      ),
      transition: fc.constantFrom(
        TRANSITION.launch,
        TRANSITION.terminate,
        "autoscaling:TEST_NOTIFICATION",
        "autoscaling:EC2_INSTANCE_LAUNCH",
        "",
      ),
    })
    .filter((p) => p.detailType !== DETAIL_TYPE[kind] || p.transition !== TRANSITION[kind]);

  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(ghost, fc.constantFrom<Field>(...(Object.keys(FIELDS) as Field[])), fc.boolean())
        .chain(([base, f, whole]) =>
          whole
            ? notAnObject().map((v) => input(base, "wrong type", v, /event/))
            : (f === "detail" ? notAnObject() : notAString())
                .filter((v) => v !== undefined)
                .map((v) => input(base, "wrong type", withPath(base.event, pathOf(f), v), FIELDS[f])),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(ghost, fc.constantFrom(...REQUIRED))
        .map(([base, f]) => input(base, "missing field", withoutPath(base.event, pathOf(f)), FIELDS[f])),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(ghost, extraProperties(), extraProperties())
        .map(([base, top, detail]) =>
          input(
            base,
            "extra fields",
            withPath(withExtra(base.event, top), ["detail"], withExtra(base.event.detail, detail)),
            UNKNOWN_INSTANCE,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(ghost, foreignGroup)
        .map(([base, name]) =>
          input(
            base,
            "foreign Auto Scaling group",
            withPath(base.event, ["detail", "AutoScalingGroupName"], name),
            FIELDS["detail.AutoScalingGroupName"],
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(ghost, foreignHook)
        .map(([base, name]) =>
          input(
            base,
            "foreign hook name",
            withPath(base.event, ["detail", "LifecycleHookName"], name),
            FIELDS["detail.LifecycleHookName"],
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(ghost, wrongPair)
        .map(([base, p]) =>
          input(
            base,
            "wrong detail-type/transition pair",
            withPath(
              withPath(base.event, ["detail-type"], p.detailType),
              ["detail", "LifecycleTransition"],
              p.transition,
            ),
            /detail-type|LifecycleTransition|expected a/,
          ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          ghost,
          fc.oneof(
            fc.constantFrom("aws.ec2", "aws.autoscaling ", "custom.autoscaling", "AWS.AUTOSCALING"),
            injectionString(),
          ),
        )
        .map(([base, source]) =>
          input(base, "forged source", withPath(base.event, ["source"], source), FIELDS.source),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(ghost, badInstanceId())
        .map(([base, id]) =>
          input(
            base,
            "bad instance ID",
            withPath(base.event, ["detail", "EC2InstanceId"], id),
            FIELDS["detail.EC2InstanceId"],
          ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(ghost, fc.oneof(injectionString(), fc.constantFrom("0", "not-a-token", "{{token}}")))
        .filter(([, t]) => !TOKEN.test(t))
        .map(([base, t]) =>
          input(
            base,
            "bad lifecycle action token",
            withPath(base.event, ["detail", "LifecycleActionToken"], t),
            FIELDS["detail.LifecycleActionToken"],
          ),
        ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(ghost, field, injectionString()).map(([base, f, s]) => {
        // Free text: the event stays well-formed, so it is refused as being about an unknown instance.
        const stillValid = f === "detail.NotificationMetadata" && s.length <= 1023;
        return input(
          base,
          "injection string",
          withPath(base.event, pathOf(f), s),
          stillValid ? UNKNOWN_INSTANCE : FIELDS[f],
        );
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(ghost, field, fc.oneof(hugeString(), deepNesting()), fc.boolean())
        .map(([base, f, big, asExtra]) =>
          asExtra
            ? input(base, "huge payload", withPath(base.event, ["detail", "Padding"], big), UNKNOWN_INSTANCE)
            : input(base, "huge payload", withPath(base.event, pathOf(f), big), FIELDS[f]),
        ),
    },
    {
      weight: 2,
      arbitrary: ghost.map((base) => input(base, "unknown instance", base.event, UNKNOWN_INSTANCE)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          wellFormed(target, kind, fc.constantFrom(...target.instanceIds)),
          fc.constantFrom("WarmPool", "EC2"),
        )
        .map(([base, elsewhere]) =>
          input(
            base,
            "warm-pool move",
            withPath(base.event, ["detail", kind === "launch" ? "Destination" : "Origin"], elsewhere),
            /warm-pool/,
          ),
        ),
    },
    {
      weight: 1,
      // The other hook's well-formed event delivered to this handler.
      arbitrary: wellFormed(target, otherKind, ghostInstanceId(target)).map((other) =>
        input(
          { kind, event: other.event },
          "event for the other hook",
          other.event,
          /detail-type|expected a/,
        ),
      ),
    },
  );
}

export function launchInputs(target: FuzzTarget): fc.Arbitrary<FuzzInput> {
  return lifecycleInputs(target, "launch");
}

export function terminateInputs(target: FuzzTarget): fc.Arbitrary<FuzzInput> {
  return lifecycleInputs(target, "terminate");
}
