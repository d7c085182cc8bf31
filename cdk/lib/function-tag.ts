// The control-plane functions by name, and the tag that names each one: operators and tools find the
// functions by it, and the simulator runs the ones it marks. Free of imports, so that the bundle
// build (scripts/build-lambdas.ts) reads the same list without loading the CDK.
export const FUNCTION_TAG = "etcd-asg:function";

/** The six control-plane bundles `npm run build` writes to `dist/lambdas/<name>/`. */
export const FUNCTION_NAMES = [
  "launch-hook",
  "terminate-hook",
  "node-api",
  "reconciler",
  "client-cert",
  "snapshot",
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];
