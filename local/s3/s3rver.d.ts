// The part of s3rver's API the simulator uses (the package ships no types).
declare module "s3rver" {
  import type { AddressInfo } from "node:net";

  interface S3rverOptions {
    readonly address?: string;
    readonly port?: number;
    readonly directory?: string;
    readonly silent?: boolean;
    readonly resetOnClose?: boolean;
    readonly vhostBuckets?: boolean;
    readonly allowMismatchedSignatures?: boolean;
    readonly configureBuckets?: ReadonlyArray<{ readonly name: string }>;
  }

  class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }

  export = S3rver;
}
