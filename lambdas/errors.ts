// The base of every error this project throws. Adapters translate outside failures into subclasses
// of it in one place each, and say whether the same call may succeed if tried again later.

export interface EtcdAsgErrorOptions {
  /** The lower-level error this one explains. */
  readonly cause?: unknown;
  /** The same request may succeed later without anything else changing. @default false */
  readonly retryable?: boolean;
}

export class EtcdAsgError extends Error {
  override readonly name: string = "EtcdAsgError";
  readonly retryable: boolean;

  constructor(message: string, options: EtcdAsgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** True for an `EtcdAsgError` tagged retryable; anything else (a bug, an unknown failure) is not. */
export function isRetryable(error: unknown): boolean {
  return error instanceof EtcdAsgError && error.retryable;
}
