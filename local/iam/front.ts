// What the gate needs to know about one service's front end: the name requests are signed for, which
// (action, resource, context) checks a request needs, and how the service words a refusal. One
// implementation per protocol (dynamodb.ts, auto-scaling.ts, ec2.ts, kms.ts, s3.ts, route53.ts,
// lambda-url.ts).
import type { IncomingHttpHeaders } from "node:http";
import type { ContextValues, DenialReason } from "./authorize";
import type { Principal } from "./credentials";
import type { PolicyDocument } from "./policies";
import type { SignatureProblem } from "./sigv4";

export interface GateRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The whole body, or undefined when it streams past the gate (S3 uploads). */
  readonly body: Buffer | undefined;
}

/** One permission a request needs; a request may need several (a batch over two tables). */
export interface AuthorizationCheck {
  readonly action: string;
  /** An ARN, or `*` for an action without resource types. */
  readonly resource: string;
  readonly context?: ContextValues;
  /**
   * The resource's policy as the server that holds the resource knows it (a key made at run time),
   * taking precedence over the policy set's.
   */
  readonly resourcePolicy?: PolicyDocument;
}

export type Refusal =
  | {
      readonly kind: "signature";
      readonly problem: SignatureProblem;
      readonly reason: string;
      readonly accessKeyId?: string;
    }
  /** A streamed body that breaks its own framing or checksum (S3: IncompleteBody, BadDigest). */
  | { readonly kind: "body"; readonly code: string; readonly message: string }
  | {
      readonly kind: "denied";
      readonly principalArn: string;
      readonly check: AuthorizationCheck;
      readonly reason: DenialReason;
      /** AWS's standard wording; a front may word it its own way from the other fields. */
      readonly message: string;
    };

/** An HTTP answer, ready to be written. */
export interface GateResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ServiceFront {
  /** The service name in the SigV4 credential scope (`dynamodb`, `autoscaling`, `s3`, `lambda`…). */
  readonly signingName: string;
  /** The region requests must be signed for (Route 53 and IAM: `us-east-1`). */
  readonly region: string;
  /**
   * Whether `resolve` reads the body. A gate proxy buffers a body only when this says so or the
   * signature needs it (every service but S3 signs its payload hash).
   */
  needsBody(request: Omit<GateRequest, "body">): boolean;
  /** The checks a verified caller's request needs; every one must be allowed. */
  resolve(
    request: GateRequest,
    caller: Principal,
  ): readonly AuthorizationCheck[] | Promise<readonly AuthorizationCheck[]>;
  /** The service's answer to a refused request. */
  refuse(refusal: Refusal, request: Omit<GateRequest, "body">, requestId: string): GateResponse;
}
