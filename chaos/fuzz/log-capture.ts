// A logger for one fuzzed invocation that keeps the JSON lines the control plane writes instead of
// printing them: the real Powertools logger formats every record (so "logged as JSON" is what is
// checked), at INFO and above whatever the environment's level, and each child logger a handler
// creates writes to the same capture.
import type { Logger } from "@aws-lambda-powertools/logger";

export interface CapturedLogs {
  readonly logger: Logger;
  /** Every line written so far, as printed. */
  readonly lines: readonly string[];
}

export function captureLogs(base: Logger): CapturedLogs {
  const lines: string[] = [];
  const keep = (line: unknown) => {
    lines.push(String(line));
  };
  // Powertools prints through its public `console` property with the level's method name.
  const console = { log: keep, trace: keep, debug: keep, info: keep, warn: keep, error: keep };
  const capture = (logger: Logger): Logger => {
    (logger as unknown as { console: typeof console }).console = console;
    logger.setLogLevel("INFO");
    return new Proxy(logger, {
      get(target, property, receiver) {
        if (property === "createChild") {
          return (...args: Parameters<Logger["createChild"]>) => capture(target.createChild(...args));
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
  return { logger: capture(base.createChild()), lines };
}
