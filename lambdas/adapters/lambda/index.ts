// The Lambda client and the one command the control plane sends (invoking the snapshot function),
// imported on first use: from here, so that the lazily loaded file (scripts/lazy-file.ts) holds only
// that command, not every one of the client's.
export { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
