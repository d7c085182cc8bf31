// The etcd adapter's public surface: the membership and maintenance clients, their result types and
// their errors.
export type { EndpointStatus } from "./endpoint";
export { EtcdEndpointPool } from "./endpoint-pool";
export * from "./errors";
export {
  EtcdMaintenance,
  type EtcdMaintenanceOptions,
  type StorageProbe,
  type StorageStatus,
} from "./maintenance";
export {
  type EndpointProbe,
  type EtcdMember,
  EtcdMembership,
  type EtcdMembershipOptions,
} from "./membership";
