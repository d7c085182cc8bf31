// A Lambda function URL's front end (AuthType AWS_IAM; requests signed for service `lambda`): every
// request, whatever its path, needs `lambda:InvokeFunctionUrl` (context
// `lambda:FunctionUrlAuthType=AWS_IAM`) and, as function URLs made since October 2025 do,
// `lambda:InvokeFunction` (context `lambda:InvokedViaFunctionUrl=true`) on the function's ARN.
import { functionUrlRefusal } from "./denied";
import type { AuthorizationCheck, ServiceFront } from "./front";

export interface FunctionUrlFrontOptions {
  readonly region: string;
  /** The unqualified function ARN, `arn:aws:lambda:<region>:<account>:function:<name>`. */
  readonly functionArn: string;
}

export function functionUrlFront(options: FunctionUrlFrontOptions): ServiceFront {
  const { functionArn } = options;
  const checks: readonly AuthorizationCheck[] = [
    {
      action: "lambda:InvokeFunctionUrl",
      resource: functionArn,
      context: { "lambda:FunctionUrlAuthType": "AWS_IAM", "lambda:FunctionArn": functionArn },
    },
    {
      action: "lambda:InvokeFunction",
      resource: functionArn,
      context: { "lambda:InvokedViaFunctionUrl": "true" },
    },
  ];
  return {
    signingName: "lambda",
    region: options.region,
    needsBody: () => false,
    resolve: () => checks,
    refuse: (refusal, _request, requestId) => functionUrlRefusal(refusal, requestId),
  };
}
