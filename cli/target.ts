// The stack the CLI acts on: a deployed stack found by name with DescribeStacks (the credentials and
// region of the AWS SDK's default chain, or --region), or the running simulator's stack (--local),
// reached the same way with the simulator's operator credentials and local endpoints. Its outputs
// name the functions the commands invoke.
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { CliError } from "./errors";
import { type LocalState, readLocalState } from "./local-state";

export type TargetOptions =
  | { readonly kind: "stack"; readonly stackName: string; readonly region: string | undefined }
  | { readonly kind: "local"; readonly stateFile: string };

export interface Target {
  readonly stackName: string;
  /** The value of the stack's output `key`; a CliError naming it when the stack has none. */
  output(key: string, missing?: string): string;
  /** Invokes the function and returns its JSON result; a function error is a CliError with its message. */
  invoke(functionName: string, payload: unknown): Promise<unknown>;
  close(): void;
}

export async function openTarget(options: TargetOptions): Promise<Target> {
  const local: LocalState | undefined =
    options.kind === "local" ? readLocalState(options.stateFile) : undefined;
  const stackName = local?.stackName ?? (options.kind === "stack" ? options.stackName : "");
  const region = local?.region ?? (options.kind === "stack" ? options.region : undefined);
  const config = (endpoint: string | undefined) => ({
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(local === undefined ? {} : { credentials: local.credentials }),
  });
  const cloudformation = new CloudFormationClient(config(local?.endpoints.cloudformation));
  const lambda = new LambdaClient(config(local?.endpoints.lambda));
  try {
    const outputs = await stackOutputs(cloudformation, stackName);
    return {
      stackName,
      output: (key, missing) => {
        const value = outputs.get(key);
        if (value === undefined) {
          throw new CliError(
            `stack ${stackName} has no output ${key}${missing === undefined ? "" : `: ${missing}`}`,
          );
        }
        return value;
      },
      invoke: (functionName, payload) => invoke(lambda, functionName, payload),
      close: () => lambda.destroy(),
    };
  } catch (error) {
    lambda.destroy();
    throw error;
  } finally {
    cloudformation.destroy();
  }
}

async function stackOutputs(client: CloudFormationClient, stackName: string): Promise<Map<string, string>> {
  const answer = await client
    .send(new DescribeStacksCommand({ StackName: stackName }))
    .catch((error: unknown) => {
      throw awsError(error, `reading stack ${stackName}'s outputs (cloudformation:DescribeStacks)`);
    });
  const stack = answer.Stacks?.[0];
  if (stack === undefined) throw new CliError(`stack ${stackName} does not exist`);
  return new Map(
    (stack.Outputs ?? []).flatMap((o) =>
      o.OutputKey === undefined || o.OutputValue === undefined ? [] : [[o.OutputKey, o.OutputValue] as const],
    ),
  );
}

async function invoke(client: LambdaClient, functionName: string, payload: unknown): Promise<unknown> {
  const answer = await client
    .send(new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload) }))
    .catch((error: unknown) => {
      throw awsError(error, `invoking ${functionName} (lambda:InvokeFunction)`);
    });
  const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString("utf8");
  const result: unknown = text === "" ? null : JSON.parse(text);
  if (answer.FunctionError !== undefined) {
    const message = (result as { errorMessage?: string } | null)?.errorMessage ?? text;
    throw new CliError(`${functionName} failed: ${message}`);
  }
  return result;
}

/** The SDK's failures, said as what the operator must fix. */
function awsError(error: unknown, doing: string): CliError {
  const name = (error as { name?: string }).name ?? "";
  const message = (error as { message?: string }).message ?? String(error);
  if (name === "CredentialsProviderError" || /credential/i.test(message)) {
    return new CliError(`no AWS credentials for ${doing}: ${message}`);
  }
  if (/region/i.test(message) && name !== "ValidationError") {
    return new CliError(`no AWS region for ${doing}: set AWS_REGION or pass --region (${message})`);
  }
  if (name === "ValidationError" && /does not exist/.test(message)) {
    return new CliError(`${message} (${doing})`);
  }
  return new CliError(`${doing} failed: ${name ? `${name}: ` : ""}${message}`);
}
