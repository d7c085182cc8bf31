// The simulator's IAM gate in front of a service: verifies a request's SigV4 signature against the
// credentials the simulator issued, asks the service's front which permissions the request needs,
// and authorizes each against the caller's policies. Answers the caller's principal, or the response
// the service would send instead of serving the request.
import { randomUUID } from "node:crypto";
import { authorize } from "./authorize";
import type { CallerLookup, Principal } from "./credentials";
import type { GateRequest, GateResponse, Refusal, ServiceFront } from "./front";
import type { PolicySet } from "./policies";
import { verifySigV4 } from "./sigv4";

export interface GateConfig {
  /** Who each access key belongs to: a CredentialStore. */
  readonly callers: CallerLookup;
  readonly policies: PolicySet;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * What `aws:SecureTransport` says. The simulator's endpoints are plain HTTP on 127.0.0.1 standing
   * in for AWS's HTTPS ones, so requests count as TLS unless a test wants to see a TLS-only policy
   * refuse them.
   * @default true
   */
  readonly secureTransport?: boolean;
  /** Hears every refusal, e.g. to log it once. @default none */
  readonly onRefusal?: (refusal: Refusal, request: Omit<GateRequest, "body">) => void;
}

export type GateVerdict =
  | { readonly ok: true; readonly principal: Principal; readonly requestId: string }
  | { readonly ok: false; readonly response: GateResponse; readonly refusal: Refusal };

/**
 * Verifies and authorizes one request for one service. Throws (AuthorizationInputError…) only when
 * the request cannot be evaluated at all, e.g. an action IAM does not know.
 */
export type Gate = (request: GateRequest, front: ServiceFront) => Promise<GateVerdict>;

export function createGate(config: GateConfig): Gate {
  const now = config.now ?? Date.now;
  return async (request, front) => {
    const requestId = randomUUID();
    const refuse = (refusal: Refusal): GateVerdict => {
      config.onRefusal?.(refusal, request);
      return { ok: false, refusal, response: front.refuse(refusal, request, requestId) };
    };
    const verification = verifySigV4(
      request,
      { region: front.region, service: front.signingName },
      (accessKeyId) => config.callers.lookup(accessKeyId)?.credentials,
      now(),
    );
    if (!verification.ok) {
      const { problem, reason, scope } = verification;
      return refuse({
        kind: "signature",
        problem,
        reason,
        ...(scope === undefined ? {} : { accessKeyId: scope.accessKeyId }),
      });
    }
    const caller = config.callers.lookup(verification.accessKeyId);
    if (caller === undefined)
      throw new Error(`access key ${verification.accessKeyId} vanished while verified`);
    const { principal } = caller;
    const context = globalContext(principal, front.region, now(), config.secureTransport ?? true);
    for (const check of await front.resolve(request, principal)) {
      const result = await authorize(config.policies, {
        principalArn: principal.arn,
        action: check.action,
        resource: check.resource,
        context: { ...context, ...check.context },
        ...(check.resourcePolicy === undefined ? {} : { resourcePolicy: check.resourcePolicy }),
      });
      if (!result.allowed) {
        return refuse({
          kind: "denied",
          principalArn: principal.arn,
          check,
          reason: result.reason,
          message: result.message,
        });
      }
    }
    return { ok: true, principal, requestId };
  };
}

/** The global condition keys every request carries. */
function globalContext(
  principal: Principal,
  region: string,
  nowMs: number,
  secure: boolean,
): Record<string, string> {
  return {
    "aws:SecureTransport": String(secure),
    "aws:CurrentTime": new Date(nowMs).toISOString(),
    "aws:EpochTime": String(Math.floor(nowMs / 1000)),
    "aws:RequestedRegion": region,
    "aws:userid": principal.userId,
    ...(principal.kind === "user"
      ? { "aws:username": principal.userName }
      : { "aws:TokenIssueTime": principal.issuedAt.toISOString() }),
  };
}
