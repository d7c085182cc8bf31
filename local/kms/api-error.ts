// An error answer of the emulated KMS: the `__type`, message and HTTP status KMS sends (JSON 1.1
// protocol: `{"__type": "...", "message": "..."}`), and the standard messages of its common errors.

export class KmsApiError extends Error {
  override readonly name = "KmsApiError";

  constructor(
    /** KMS's error code, e.g. `NotFoundException`; the SDK names its exception after it. */
    readonly code: string,
    message: string,
    /** 400 for the caller's errors; KMS's own failures are 5xx. */
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The error body KMS sends; a message-less error (KMSInvalidSignatureException) has only `__type`. */
export function kmsErrorBody(code: string, message: string): string {
  return JSON.stringify(message === "" ? { __type: code } : { __type: code, message });
}

/** "1 validation error detected: …" as KMS words a request that breaks a member's constraint. */
export function validationError(member: string, value: string | null, constraint: string): KmsApiError {
  const shown = value === null ? "null" : `'${value}'`;
  return new KmsApiError(
    "ValidationException",
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

export function missingMember(member: string): KmsApiError {
  return validationError(member, null, "Member must not be null");
}

export function notInEnum(member: string, value: string, allowed: readonly string[]): KmsApiError {
  return validationError(member, value, `Member must satisfy enum value set: [${allowed.join(", ")}]`);
}
