// One Lambda "container": a child process that loads one real bundle (dist/lambdas/<name>/lib/
// index.js) with the function's environment, as the Node.js runtime does at cold start, then runs
// the invocations its host sends over IPC one at a time and answers with the result or the error.
// Its stdout and stderr are the function's log stream.
import { resolve } from "node:path";

interface Invocation {
  readonly id: number;
  readonly event: unknown;
  readonly requestId: string;
  readonly functionName: string;
  readonly timeoutMs: number;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const bundle = process.argv[2];
if (bundle === undefined) throw new Error("usage: lambda-worker <bundle index.js>");
const { handler } = require(resolve(bundle)) as { handler: Handler };
const send = (message: unknown) => process.send?.(message);

process.on("message", (message: Invocation) => {
  const deadline = Date.now() + message.timeoutMs;
  const context = {
    awsRequestId: message.requestId,
    functionName: message.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${message.functionName}`,
    memoryLimitInMB: "256",
    logGroupName: `/aws/lambda/${message.functionName}`,
    logStreamName: `local/${process.pid}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  handler(message.event, context).then(
    (result) => send({ id: message.id, result }),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      send({ id: message.id, error: { name: e.name, message: e.message, stack: e.stack } });
    },
  );
});
send({ ready: true });
