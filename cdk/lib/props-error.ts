// The error every EtcdCluster prop check throws: its message names the prop, the value received and
// what to change.
export class EtcdClusterPropsError extends Error {
  override readonly name = "EtcdClusterPropsError";
}
