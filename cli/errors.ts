// The CLI's one error class: its message is what the operator reads, naming what was wrong.
export class CliError extends Error {
  override readonly name: string = "CliError";
}

/** Bad command-line input: the usage is printed after the message. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
}
