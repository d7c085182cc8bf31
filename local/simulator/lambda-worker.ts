// One Lambda "container": a child process, run by the Node.js of the function's runtime, that loads
// the function's handler (`file.export` under its code folder, e.g. `lib/index.handler`) with the
// function's environment, as the Node.js runtime does at cold start, then runs the invocations its
// host sends over IPC and answers with the result or the error. Its stdout and stderr are the
// function's log stream.
import { join } from "node:path";

interface Invocation {
  readonly id: number;
  readonly event: unknown;
  readonly requestId: string;
  readonly functionName: string;
  readonly functionArn: string;
  readonly timeoutMs: number;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const [, , codeDir, handlerName] = process.argv;
const dot = handlerName?.lastIndexOf(".") ?? -1;
if (codeDir === undefined || handlerName === undefined || dot < 1) {
  throw new Error("usage: lambda-worker <code dir> <file.export>");
}
/** What Lambda's Node.js runtime logs when the module throws at init, and the init then fails. */
function initFailed(error: unknown): never {
  const e = error instanceof Error ? error : new Error(String(error));
  const report = { errorType: e.name, errorMessage: e.message, stack: e.stack?.split("\n") ?? [] };
  process.stderr.write(
    `${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception \t${JSON.stringify(report)}\n`,
  );
  process.exit(1);
}

function loadHandler(dir: string, name: string, at: number): Handler {
  let exported: unknown;
  try {
    exported = (require(join(dir, name.slice(0, at))) as Record<string, unknown>)[name.slice(at + 1)];
  } catch (error) {
    initFailed(error);
  }
  if (typeof exported !== "function") {
    initFailed(
      Object.assign(new Error(`${name} is undefined or not exported`), { name: "Runtime.HandlerNotFound" }),
    );
  }
  return exported as Handler;
}

const run = loadHandler(codeDir, handlerName, dot);
const send = (message: unknown) => process.send?.(message);

process.on("message", (message: Invocation) => {
  const deadline = Date.now() + message.timeoutMs;
  const context = {
    awsRequestId: message.requestId,
    functionName: message.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? "128",
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${message.functionName}`,
    logStreamName: `local/${process.pid}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  run(message.event, context).then(
    (result) => send({ id: message.id, result }),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      send({ id: message.id, error: { name: e.name, message: e.message, stack: e.stack } });
    },
  );
});
send({ ready: true });
