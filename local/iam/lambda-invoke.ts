// Lambda's Invoke API front end (REST-JSON, signed for service `lambda`):
// POST /2015-03-31/functions/{FunctionName}/invocations needs `lambda:InvokeFunction` on the function
// — invoked directly, not through a function URL, so `lambda:InvokedViaFunctionUrl` is false and a
// statement that allows invocation only through the URL does not allow it.
import { lambdaApiRefusal } from "./denied";
import type { ServiceFront } from "./front";

export interface LambdaInvokeFrontOptions {
  readonly region: string;
  /** The function's ARN from the path's name, ARN or partial ARN; "*" when it names none of ours. */
  readonly functionArn: (nameInPath: string) => string;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?|$)/;

export function lambdaInvokeFront(options: LambdaInvokeFrontOptions): ServiceFront {
  return {
    signingName: "lambda",
    region: options.region,
    needsBody: () => false,
    resolve: (request) => {
      const name = decodeURIComponent(INVOKE_PATH.exec(request.url)?.[1] ?? "");
      return [
        {
          action: "lambda:InvokeFunction",
          resource: name === "" ? "*" : options.functionArn(name),
          context: { "lambda:InvokedViaFunctionUrl": "false" },
        },
      ];
    },
    refuse: (refusal, _request, requestId) => lambdaApiRefusal(refusal, requestId),
  };
}
