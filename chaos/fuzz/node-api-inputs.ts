// Generators of malformed and hostile node API requests, as a Lambda function URL delivers them
// (payload 2.0, AWS_IAM auth). Each starts from a well-formed request by an instance that does not
// exist about itself and breaks one thing; requests about real instances always carry a caller
// identity that must be refused (another instance's session, another role, a user, none).
import fc from "fast-check";
import { type FuzzInput, type FuzzTarget, withExtra, withoutPath, withPath } from "./fuzz-input";
import {
  deepNesting,
  extraProperties,
  hugeString,
  injectionString,
  notAnObject,
  notAString,
} from "./hostile-values";
import { ghostInstanceId } from "./lifecycle-inputs";

/** The values the node API accepts for its long-polling parameters (request.ts). */
const ACCEPTED = { wait: /^(?:0?[0-9]|10)$/, standby: /^[01]$/ } as const;

type Route = "config" | "ready";
const METHOD: Record<Route, string> = { config: "GET", ready: "POST" };
const FORMATS = ["env", "flags", "dropin", "json"];
const VALID_ROUTE = /^\/v1\/nodes\/i-[0-9a-f]{8,17}\/(config|ready)$/;

/** A well-formed request about itself by an instance that is not in the group: 404 or 409. */
const UNKNOWN_NODE = /is not an instance of Auto Scaling group|is not an etcd member/;
const BAD_PATH = /no such resource|is not an EC2 instance ID|rawPath/;
const IDENTITY =
  /may not act for|is not an EC2 instance-role session|is not a session of the node role|no IAM caller identity|userArn/;

const FIELDS = {
  rawPath: /rawPath/,
  queryStringParameters: /queryStringParameters/,
  "queryStringParameters.format": /format/,
  requestContext: /requestContext/,
  "requestContext.http": /requestContext\.http/,
  "requestContext.http.method": /requestContext\.http\.method|takes (GET|POST)/,
  "requestContext.authorizer": /requestContext\.authorizer/,
  "requestContext.authorizer.iam": /requestContext\.authorizer\.iam/,
  "requestContext.authorizer.iam.userArn": IDENTITY,
} as const;
type Field = keyof typeof FIELDS;
const OBJECT_FIELDS: readonly Field[] = [
  "queryStringParameters",
  "requestContext",
  "requestContext.http",
  "requestContext.authorizer",
  "requestContext.authorizer.iam",
];

interface Request {
  readonly route: Route;
  readonly event: Record<string, unknown>;
}

export function nodeRoleSession(target: FuzzTarget, instanceId: string): string {
  return `arn:aws:sts::${target.account}:assumed-role/${target.nodeRole}/${instanceId}`;
}

function request(
  target: FuzzTarget,
  about: fc.Arbitrary<string>,
  caller: (about: string) => fc.Arbitrary<string | undefined>,
): fc.Arbitrary<Request> {
  return fc
    .record({
      route: fc.constantFrom<Route>("config", "ready"),
      about,
      format: fc.constantFrom(...FORMATS),
      id: fc.uuid(),
    })
    .chain((r) => caller(r.about).map((userArn) => ({ ...r, userArn })))
    .map(({ route, about, format, id, userArn }) => {
      const rawPath = `/v1/nodes/${about}/${route}`;
      const query = route === "config" ? { format } : undefined;
      return {
        route,
        event: {
          version: "2.0",
          routeKey: "$default",
          rawPath,
          rawQueryString: query === undefined ? "" : `format=${format}`,
          headers: { host: "abcdefg.lambda-url.us-east-1.on.aws", "user-agent": "curl/8.5.0" },
          ...(query === undefined ? {} : { queryStringParameters: query }),
          requestContext: {
            accountId: target.account,
            apiId: "abcdefg",
            ...(userArn === undefined
              ? {}
              : {
                  authorizer: {
                    iam: { accountId: target.account, callerId: `AROAEXAMPLE:${about}`, userArn },
                  },
                }),
            domainName: "abcdefg.lambda-url.us-east-1.on.aws",
            http: {
              method: METHOD[route],
              path: rawPath,
              protocol: "HTTP/1.1",
              sourceIp: "127.0.0.1",
              userAgent: "curl",
            },
            requestId: id,
            routeKey: "$default",
            stage: "$default",
            time: "21/Nov/2026:13:00:00 +0000",
            timeEpoch: 1795266000000,
          },
          isBase64Encoded: false,
        },
      };
    });
}

function input(category: string, event: unknown, names: RegExp): FuzzInput {
  return { handler: "node-api", category, event, names };
}

/** Caller identities that must not be taken for `about`. */
function forgedCaller(target: FuzzTarget, about: string): fc.Arbitrary<string | undefined> {
  const others = target.instanceIds.filter((id) => id !== about);
  const a = target.account;
  return fc.oneof(
    fc.constantFrom(...others.map((id) => nodeRoleSession(target, id))),
    ghostInstanceId(target).map((id) => nodeRoleSession(target, id)),
    fc.constantFrom(
      undefined,
      "",
      `arn:aws:iam::${a}:user/alice`,
      `arn:aws:iam::${a}:root`,
      `arn:aws:sts::${a}:assumed-role/admin/${about}`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}-x/${about}`,
      `arn:aws:sts::${a}:federated-user/${about}`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}/${about}/extra`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}/${about}\n`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}/${about.toUpperCase()}`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}/ ${about}`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}/${about}\u0000`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}/alice`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}`,
      `arn:aws:sts::${a}:assumed-role/${target.nodeRole}/${about}*`,
      `arn:aws:sts::${a}:assumed-role/.*/${about}`,
    ),
    injectionString(),
  );
}

export function nodeApiInputs(target: FuzzTarget): fc.Arbitrary<FuzzInput> {
  const self = (about: string) => fc.constant(nodeRoleSession(target, about));
  const ghost = request(target, ghostInstanceId(target), self);
  const allFields = Object.keys(FIELDS) as Field[];

  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(ghost, fc.constantFrom(...allFields), fc.boolean())
        .chain(([r, f, whole]) =>
          whole
            ? notAnObject().map((v) => input("wrong type", v, /event/))
            : (OBJECT_FIELDS.includes(f) ? notAnObject() : notAString())
                .filter((v) => v !== undefined)
                .map((v) => input("wrong type", withPath(r.event, f.split("."), v), FIELDS[f])),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          ghost,
          fc.constantFrom<Field>(
            "rawPath",
            "requestContext",
            "requestContext.http",
            "requestContext.http.method",
          ),
        )
        .map(([r, f]) => input("missing field", withoutPath(r.event, f.split(".")), FIELDS[f])),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          ghost,
          fc.constantFrom(
            ["requestContext", "authorizer"],
            ["requestContext", "authorizer", "iam"],
            ["requestContext", "authorizer", "iam", "userArn"],
          ),
        )
        .map(([r, path]) => input("missing caller identity", withoutPath(r.event, path), IDENTITY)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          ghost,
          fc.oneof(
            fc.constantFrom(
              "GET",
              "POST",
              "PUT",
              "DELETE",
              "PATCH",
              "HEAD",
              "OPTIONS",
              "TRACE",
              "CONNECT",
              "",
              "G E T",
            ),
            injectionString(),
          ),
        )
        .filter(([r, m]) => m.toUpperCase() !== METHOD[r.route])
        .map(([r, m]) =>
          input(
            "wrong HTTP method",
            withPath(r.event, ["requestContext", "http", "method"], m),
            FIELDS["requestContext.http.method"],
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          ghost,
          fc.oneof(
            fc.constantFrom(
              "",
              "/",
              "/v1/nodes",
              "/v1/nodes/",
              "/v1/nodes//config",
              "/v2/nodes/i-0123456789abcdef0/config",
              "/v1/nodes/i-0123456789abcdef0/config/",
              "/v1/nodes/i-0123456789abcdef0/CONFIG",
              "/v1/nodes/i-0123456789abcdef0/delete",
              "/v1/nodes/i-0123456789abcdef0/../i-0123456789abcdef1/ready",
              "/v1/nodes/../../admin/config",
              "/v1/nodes/%2e%2e/config",
              "/v1/nodes/i-0123456789abcdef0%2fconfig",
              "/v1/nodes/i-0123456789abcdef0/config?format=env",
              "//v1/nodes/i-0123456789abcdef0/config",
              "v1/nodes/i-0123456789abcdef0/config",
            ),
            injectionString(),
            injectionString().map((s) => `/v1/nodes/${s}/config`),
          ),
        )
        .filter(([, path]) => !VALID_ROUTE.test(path))
        .map(([r, path]) => input("wrong path", withPath(r.event, ["rawPath"], path), BAD_PATH)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          ghost,
          fc.oneof(fc.constantFrom("ENV", "yaml", "env ", "json;", "flags,env", ""), injectionString()),
        )
        .filter(([r, format]) => r.route === "config" && !FORMATS.includes(format))
        .map(([r, format]) =>
          input("wrong format", withPath(r.event, ["queryStringParameters"], { format }), /format/),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          ghost,
          fc.constantFrom("wait", "standby"),
          fc.oneof(
            fc.constantFrom("11", "-1", "1.5", "99", "true", "yes", "", " 1", "0x1"),
            injectionString(),
          ),
        )
        .filter(([r, key, value]) => r.route === "config" && !ACCEPTED[key].test(value))
        .map(([r, key, value]) =>
          input(
            "wrong wait or standby",
            withPath(r.event, ["queryStringParameters"], { format: "env", [key]: value }),
            new RegExp(`${key} must be`),
          ),
        ),
    },
    {
      weight: 3,
      arbitrary: request(target, fc.constantFrom(...target.instanceIds), (about) =>
        forgedCaller(target, about),
      ).map((r) => input("forged caller identity", r.event, IDENTITY)),
    },
    {
      weight: 1,
      // The function URL's IAM auth proves who signed, not that it is this account's node role.
      arbitrary: request(target, fc.constantFrom(...target.instanceIds), (about) =>
        fc.constantFrom(
          `arn:aws:sts::999999999999:assumed-role/${target.nodeRole}/${about}`,
          `arn:aws-cn:sts::${target.account}:assumed-role/${target.nodeRole}/${about}`,
          `arn:aws-us-gov:sts::${target.account}:assumed-role/${target.nodeRole}/${about}`,
        ),
      ).map((r) => input("node role session of another account or partition", r.event, IDENTITY)),
    },
    {
      weight: 2,
      arbitrary: request(target, fc.constantFrom(...target.instanceIds), (about) =>
        fc
          .constantFrom(...target.instanceIds.filter((id) => id !== about))
          .map((id) => nodeRoleSession(target, id)),
      ).map((r) => input("request about another instance", r.event, /may not act for/)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          ghost,
          fc.constantFrom<Field>(
            "rawPath",
            "queryStringParameters.format",
            "requestContext.authorizer.iam.userArn",
          ),
          fc.oneof(hugeString(), deepNesting()),
        )
        .map(([r, f, big]) => input("huge payload", withPath(r.event, f.split("."), big), FIELDS[f])),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(ghost, fc.constantFrom("body", "headers", "cookies"), fc.oneof(hugeString(), deepNesting()))
        .map(([r, key, big]) => input("huge payload", withPath(r.event, [key], big), UNKNOWN_NODE)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(ghost, extraProperties(), extraProperties(), extraProperties())
        .map(([r, top, context, query]) => {
          let event = withPath(
            withExtra(r.event, top),
            ["requestContext"],
            withExtra(r.event.requestContext, context),
          );
          // Extra query parameters are ignored; an extra `format`, `wait` or `standby` would be a
          // wrong value of a known parameter instead.
          const { format: _f, wait: _w, standby: _s, ...otherQuery } = query;
          if (r.route === "config")
            event = withPath(event, ["queryStringParameters"], {
              ...stringValues(otherQuery),
              ...(r.event.queryStringParameters as object),
            });
          return input("extra fields", event, UNKNOWN_NODE);
        }),
    },
    {
      weight: 2,
      arbitrary: ghost.map((r) => input("unknown instance", r.event, UNKNOWN_NODE)),
    },
  );
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, String(v).slice(0, 64)]));
}
