// The snapshot adapter (etcd snapshots in S3): what handlers import.
export * from "./errors";
export { clusterPrefix, parseSnapshotKey, type SnapshotKeyParts, snapshotKey } from "./keys";
export { type ListedSnapshot, SnapshotStore } from "./store";
export { translateS3Error } from "./translate";
export {
  type SnapshotEndpoint,
  SnapshotUploader,
  type SnapshotUploaderOptions,
  type TakeSnapshotRequest,
  type UploadTuning,
  uploadTuning,
} from "./upload";
