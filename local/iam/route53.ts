// Route 53's front end (REST-XML under `/2013-04-01/`, signed for `route53` in us-east-1, a global
// service whose ARNs have neither region nor account): which permissions a request needs. Record
// operations are authorized on `arn:aws:route53:::hostedzone/<id>`, GetChange on
// `arn:aws:route53:::change/<id>`; a ChangeResourceRecordSets also sets the condition keys of its
// batch (actions, normalized record names, record types) that least-privilege policies use.
import { restXmlRefusal } from "./denied";
import type { AuthorizationCheck, GateRequest, ServiceFront } from "./front";

export const ROUTE53_XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/";

/** Route 53 requests are signed for us-east-1 whatever region the caller is in. */
const SIGNING_REGION = "us-east-1";

type Route = readonly [method: string, path: RegExp, action: string, resource: "zone" | "change" | "*"];

/** `{id}` in the paths is the first capture. */
const ROUTES: readonly Route[] = [
  ["POST", /^\/hostedzone\/([^/]+)\/rrset\/?$/, "ChangeResourceRecordSets", "zone"],
  ["GET", /^\/hostedzone\/([^/]+)\/rrset\/?$/, "ListResourceRecordSets", "zone"],
  ["GET", /^\/change\/([^/]+)$/, "GetChange", "change"],
  ["GET", /^\/hostedzone\/?$/, "ListHostedZones", "*"],
  ["POST", /^\/hostedzone\/?$/, "CreateHostedZone", "*"],
  ["GET", /^\/hostedzone\/([^/]+)$/, "GetHostedZone", "zone"],
  ["DELETE", /^\/hostedzone\/([^/]+)$/, "DeleteHostedZone", "zone"],
  ["POST", /^\/hostedzone\/([^/]+)$/, "UpdateHostedZoneComment", "zone"],
  ["POST", /^\/hostedzone\/([^/]+)\/associatevpc$/, "AssociateVPCWithHostedZone", "zone"],
  ["POST", /^\/hostedzone\/([^/]+)\/disassociatevpc$/, "DisassociateVPCFromHostedZone", "zone"],
  ["GET", /^\/hostedzonesbyname$/, "ListHostedZonesByName", "*"],
  ["GET", /^\/hostedzonesbyvpc$/, "ListHostedZonesByVPC", "*"],
  ["GET", /^\/hostedzonecount$/, "GetHostedZoneCount", "*"],
  ["GET", /^\/tags\/hostedzone\/([^/]+)$/, "ListTagsForResource", "zone"],
  ["POST", /^\/tags\/hostedzone\/([^/]+)$/, "ChangeTagsForResource", "zone"],
];

/** A request this front cannot map to an IAM action: the gate refuses to guess. */
export class UnknownRoute53RequestError extends Error {
  override readonly name = "UnknownRoute53RequestError";
}

export function route53Front(): ServiceFront {
  return {
    signingName: "route53",
    region: SIGNING_REGION,
    needsBody: (request) => request.method === "POST",
    resolve: (request) => resolve(request),
    refuse: (refusal, _request, requestId) => restXmlRefusal(ROUTE53_XMLNS, refusal, requestId),
  };
}

function resolve(request: GateRequest): AuthorizationCheck[] {
  const path = (request.url.split("?", 1)[0] ?? "").replace(/^\/2013-04-01/, "");
  for (const [method, pattern, action, kind] of ROUTES) {
    const match = request.method === method ? pattern.exec(path) : null;
    if (!match) continue;
    const id = decodeURIComponent(match[1] ?? "");
    const resource =
      kind === "zone"
        ? `arn:aws:route53:::hostedzone/${id}`
        : kind === "change"
          ? `arn:aws:route53:::change/${id}`
          : "*";
    const context = action === "ChangeResourceRecordSets" ? changeBatchContext(request.body) : {};
    return [{ action: `route53:${action}`, resource, context }];
  }
  throw new UnknownRoute53RequestError(`no Route 53 operation is ${request.method} ${path}`);
}

/** The condition keys of a ChangeBatch: every change's action, normalized name and record type. */
function changeBatchContext(body: Buffer | undefined): Record<string, string[]> {
  const changes = [...(body?.toString("utf8") ?? "").matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map(
    ([, change = ""]) => ({
      action: /<Action>([^<]*)<\/Action>/.exec(change)?.[1] ?? "",
      name: /<Name>([^<]*)<\/Name>/.exec(change)?.[1] ?? "",
      type: /<Type>([^<]*)<\/Type>/.exec(change)?.[1] ?? "",
    }),
  );
  return {
    "route53:ChangeResourceRecordSetsActions": unique(changes.map((c) => c.action)),
    // Normalized as IAM compares them: lowercase, without the final dot.
    "route53:ChangeResourceRecordSetsNormalizedRecordNames": unique(
      changes.map((c) => c.name.toLowerCase().replace(/\.$/, "")),
    ),
    "route53:ChangeResourceRecordSetsRecordTypes": unique(changes.map((c) => c.type)),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
