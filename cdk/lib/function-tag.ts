// The tag that names each control-plane function (launch-hook, terminate-hook, reconciler, node-api,
// client-cert): operators and tools find the functions by it, and the simulator runs the ones it marks.
export const FUNCTION_TAG = "etcd-asg:function";
