// The environment every control-plane function needs, with stand-in values: the base that the
// configuration tests add the variables under test to.
const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

export const REQUIRED_ENV = {
  CLUSTER_NAME: "prod",
  ASG_NAME: "EtcdAsg-Cluster",
  LEDGER_TABLE: "ledger",
  LAUNCH_HOOK_NAME: "launch",
  TERMINATE_HOOK_NAME: "terminate",
  CLUSTER_SIZE: "3",
  JOIN_STRATEGY: "replace",
  INSTANCE_ROLE_ARN: "arn:aws:iam::123456789012:role/etcd-node",
  PEER_CA_KEY_ARN: KEY,
  CLIENT_CA_KEY_ARN: KEY.replace("1234abcd", "5678abcd"),
} as const;
