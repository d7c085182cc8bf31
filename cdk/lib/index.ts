// The etcd-asg construct library's public surface: what `import ... from "etcd-asg"` gives a CDK app.
export { EtcdAsgStack, type EtcdAsgStackProps } from "./etcd-asg-stack";
export { EtcdCluster, LAUNCH_HOOK_NAME, TERMINATE_HOOK_NAME } from "./etcd-cluster";
export {
  type DurabilityProps,
  type EtcdClusterProps,
  EtcdClusterPropsError,
  type SnapshotRetention,
} from "./etcd-cluster-props";
