// How each AWS protocol answers a refused request, in the shapes the services send and the SDKs
// parse into an exception named by the error code: the Query protocol's ErrorResponse (Auto Scaling,
// Route 53's REST-XML too), EC2's Response/Errors, the JSON protocols' __type (DynamoDB, KMS), S3's
// Error document, and a Lambda function URL's Forbidden. Codes and statuses follow what the services
// answer (for DynamoDB, dynalite's copies of real answers); see each table.
import type { GateResponse, Refusal } from "./front";
import type { SignatureProblem } from "./sigv4";

interface Answer {
  readonly code: string;
  readonly status: number;
  /** The service's fixed wording; undefined: the verifier's reason. */
  readonly message?: string;
}

type AnswerTable = Readonly<Record<SignatureProblem, Answer>>;

const INVALID_TOKEN = "The security token included in the request is invalid.";
const EXPIRED_TOKEN = "The security token included in the request is expired";
const MISSING_TOKEN = "Request is missing Authentication Token";

/** Auto Scaling and the other Query services; Route 53 answers the same in its REST-XML. */
const QUERY_ANSWERS: AnswerTable = {
  missing: { code: "MissingAuthenticationToken", status: 403, message: MISSING_TOKEN },
  incomplete: { code: "IncompleteSignature", status: 400 },
  scope: { code: "SignatureDoesNotMatch", status: 403 },
  "unknown-key": { code: "InvalidClientTokenId", status: 403, message: INVALID_TOKEN },
  "invalid-token": { code: "InvalidClientTokenId", status: 403, message: INVALID_TOKEN },
  "expired-token": { code: "ExpiredToken", status: 403, message: EXPIRED_TOKEN },
  "expired-request": { code: "SignatureDoesNotMatch", status: 403 },
  mismatch: { code: "SignatureDoesNotMatch", status: 403 },
  "content-sha256-mismatch": { code: "SignatureDoesNotMatch", status: 403 },
};

/** EC2 tells callers little: any bad credential is AuthFailure. */
const EC2_AUTH_FAILURE: Answer = {
  code: "AuthFailure",
  status: 401,
  message: "AWS was not able to validate the provided access credentials",
};
const EC2_EXPIRED: Answer = { code: "RequestExpired", status: 400, message: "Request has expired." };
const EC2_ANSWERS: AnswerTable = {
  missing: {
    code: "MissingParameter",
    status: 400,
    message: "The request must contain the parameter AWSAccessKeyId",
  },
  incomplete: EC2_AUTH_FAILURE,
  scope: EC2_AUTH_FAILURE,
  "unknown-key": EC2_AUTH_FAILURE,
  "invalid-token": EC2_AUTH_FAILURE,
  "expired-token": EC2_EXPIRED,
  "expired-request": EC2_EXPIRED,
  mismatch: EC2_AUTH_FAILURE,
  "content-sha256-mismatch": EC2_AUTH_FAILURE,
};

/** DynamoDB, KMS and the other JSON services: always 400. */
const JSON_ANSWERS: AnswerTable = {
  missing: { code: "MissingAuthenticationTokenException", status: 400, message: MISSING_TOKEN },
  incomplete: { code: "IncompleteSignatureException", status: 400 },
  scope: { code: "InvalidSignatureException", status: 400 },
  "unknown-key": { code: "UnrecognizedClientException", status: 400, message: INVALID_TOKEN },
  "invalid-token": { code: "UnrecognizedClientException", status: 400, message: INVALID_TOKEN },
  "expired-token": { code: "ExpiredTokenException", status: 400, message: EXPIRED_TOKEN },
  "expired-request": { code: "InvalidSignatureException", status: 400 },
  mismatch: { code: "InvalidSignatureException", status: 400 },
  "content-sha256-mismatch": { code: "InvalidSignatureException", status: 400 },
};

const S3_ANSWERS: AnswerTable = {
  // An unsigned request is an anonymous one; the stack's buckets block public access.
  missing: { code: "AccessDenied", status: 403, message: "Access Denied" },
  incomplete: { code: "AuthorizationHeaderMalformed", status: 400 },
  scope: { code: "AuthorizationHeaderMalformed", status: 400 },
  "unknown-key": {
    code: "InvalidAccessKeyId",
    status: 403,
    message: "The AWS Access Key Id you provided does not exist in our records.",
  },
  "invalid-token": {
    code: "InvalidToken",
    status: 400,
    message: "The provided token is malformed or otherwise invalid.",
  },
  "expired-token": { code: "ExpiredToken", status: 400, message: "The provided token has expired." },
  "expired-request": {
    code: "RequestTimeTooSkewed",
    status: 403,
    message: "The difference between the request time and the current time is too large.",
  },
  mismatch: {
    code: "SignatureDoesNotMatch",
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  },
  "content-sha256-mismatch": {
    code: "XAmzContentSHA256Mismatch",
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
};

/** What a function URL says to a caller it refuses, since October 2025. */
export const FUNCTION_URL_FORBIDDEN =
  "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html";

/** Auto Scaling (awsQuery): `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`. */
export function queryRefusal(namespace: string, refusal: Refusal, requestId: string): GateResponse {
  const { code, status, message } = answer(QUERY_ANSWERS, refusal, "AccessDenied", 403);
  return xml(status, requestId, errorResponse(namespace, code, message, status, requestId));
}

/** Route 53 (REST-XML) words its errors as the Query services do. */
export function restXmlRefusal(namespace: string, refusal: Refusal, requestId: string): GateResponse {
  return queryRefusal(namespace, refusal, requestId);
}

/** EC2: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`. */
export function ec2Refusal(refusal: Refusal, requestId: string): GateResponse {
  const { code, status, message } =
    refusal.kind === "denied"
      ? {
          code: "UnauthorizedOperation",
          status: 403,
          message: `You are not authorized to perform this operation. ${refusal.message}`,
        }
      : answer(EC2_ANSWERS, refusal, "UnauthorizedOperation", 403);
  return xml(
    status,
    requestId,
    `<Response><Errors><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  );
}

export interface JsonProtocol {
  /** `1.0` (DynamoDB) or `1.1` (KMS). */
  readonly version: "1.0" | "1.1";
  /** What `__type` carries before `#`: DynamoDB's front end says `com.amazon.coral.service`. */
  readonly typePrefix?: string;
}

/** JSON protocols: `{"__type": "...#Code", "message": "..."}`, 400. */
export function jsonRefusal(protocol: JsonProtocol, refusal: Refusal, requestId: string): GateResponse {
  const { code, status, message } = answer(JSON_ANSWERS, refusal, "AccessDeniedException", 400);
  const type = protocol.typePrefix === undefined ? code : `${protocol.typePrefix}#${code}`;
  // DynamoDB capitalises Message in its AccessDeniedException, not in its signature errors.
  const messageKey = refusal.kind === "denied" && protocol.typePrefix !== undefined ? "Message" : "message";
  return {
    status,
    headers: {
      "content-type": `application/x-amz-json-${protocol.version}`,
      "x-amzn-requestid": requestId,
    },
    body: JSON.stringify({ __type: type, [messageKey]: message }),
  };
}

/** S3: `<Error><Code/><Message/><RequestId/><HostId/></Error>`; no body on a HEAD. */
export function s3Refusal(refusal: Refusal, method: string, requestId: string): GateResponse {
  const presigned = refusal.kind === "signature" && refusal.reason === "Request has expired";
  const { code, status, message } = presigned
    ? { code: "AccessDenied", status: 403, message: "Request has expired" }
    : answer(S3_ANSWERS, refusal, "AccessDenied", 403);
  const hostId = Buffer.from(requestId).toString("base64");
  const keyId =
    refusal.kind === "signature" && refusal.accessKeyId !== undefined
      ? `<AWSAccessKeyId>${escapeXml(refusal.accessKeyId)}</AWSAccessKeyId>`
      : "";
  return {
    status,
    headers: { "content-type": "application/xml", "x-amz-request-id": requestId, "x-amz-id-2": hostId },
    body:
      method === "HEAD"
        ? ""
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${keyId}<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`,
  };
}

/**
 * A function URL with AWS_IAM auth: a caller it does not authorize gets 403 Forbidden; a bad
 * signature gets 403 with the signature error, as Lambda's front end words it.
 */
export function functionUrlRefusal(refusal: Refusal, requestId: string): GateResponse {
  const headers = { "content-type": "application/json", "x-amzn-requestid": requestId };
  if (refusal.kind === "denied" || (refusal.kind === "signature" && refusal.problem === "missing")) {
    return {
      status: 403,
      headers: { ...headers, "x-amzn-errortype": "AccessDeniedException" },
      body: JSON.stringify({ Message: FUNCTION_URL_FORBIDDEN }),
    };
  }
  const { code, message } = answer(JSON_ANSWERS, refusal, "AccessDeniedException", 403);
  return {
    status: 403,
    headers: { ...headers, "x-amzn-errortype": code },
    body: JSON.stringify({ message }),
  };
}

/**
 * Lambda's own API (REST-JSON: Invoke and the rest): the error code in `x-amzn-ErrorType`, the
 * message in the body; a refused caller gets 403 AccessDeniedException.
 */
export function lambdaApiRefusal(refusal: Refusal, requestId: string): GateResponse {
  const { code, status, message } = answer(JSON_ANSWERS, refusal, "AccessDeniedException", 403);
  return {
    status: refusal.kind === "denied" ? status : 403,
    headers: { "content-type": "application/json", "x-amzn-requestid": requestId, "x-amzn-errortype": code },
    body: JSON.stringify(refusal.kind === "denied" ? { Message: message } : { message }),
  };
}

function answer(
  table: AnswerTable,
  refusal: Refusal,
  deniedCode: string,
  deniedStatus: number,
): { code: string; status: number; message: string } {
  if (refusal.kind === "denied") return { code: deniedCode, status: deniedStatus, message: refusal.message };
  if (refusal.kind === "body") return { code: refusal.code, status: 400, message: refusal.message };
  const entry = table[refusal.problem];
  return { code: entry.code, status: entry.status, message: entry.message ?? refusal.reason };
}

function errorResponse(
  namespace: string,
  code: string,
  message: string,
  status: number,
  requestId: string,
): string {
  const type = status >= 500 ? "Receiver" : "Sender";
  return `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

function xml(status: number, requestId: string, body: string): GateResponse {
  return {
    status,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : c === '"' ? "&quot;" : "&apos;",
  );
}
