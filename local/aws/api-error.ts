// An error answer of the emulated AWS APIs: the code, message and HTTP status AWS would send. The
// server renders it in the wire shape of the service that was called.

export class AwsApiError extends Error {
  override readonly name = "AwsApiError";

  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }

  /** Query protocol `<Type>`: who is at fault. */
  get faultType(): "Sender" | "Receiver" {
    return this.status >= 500 ? "Receiver" : "Sender";
  }
}

/** AWS's wording for a missing required parameter (its validation messages use camelCase names). */
export function missingParameterError(parameter: string): AwsApiError {
  const name = parameter.charAt(0).toLowerCase() + parameter.slice(1);
  return new AwsApiError(
    "ValidationError",
    `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
  );
}
