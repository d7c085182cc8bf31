// The etcd adapter's public surface: the membership client, its result types and its errors.
export type { EndpointStatus } from "./endpoint";
export * from "./errors";
export {
  type EndpointProbe,
  type EtcdMember,
  EtcdMembership,
  type EtcdMembershipOptions,
} from "./membership";
