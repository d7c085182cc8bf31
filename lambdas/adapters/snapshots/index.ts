// The snapshot adapter (etcd snapshots in S3): what handlers import.
// The client comes from here too, so that the lazily loaded file holds only the commands used.
export { S3Client } from "@aws-sdk/client-s3";
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
