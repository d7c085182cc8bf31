// Publishes a cloud assembly's file assets to the local S3 server, as `cdk deploy` publishes them to
// the bootstrap bucket before the stack is created: each `packaging: file` asset of
// `<stack>.assets.json` is put at its destination bucket and key. Zipped assets (function code) are
// not uploaded: the simulator runs them from the assembly's folders. The stack's own buckets are
// created here too.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

interface AssetManifest {
  readonly files?: Record<
    string,
    {
      readonly source: { readonly path: string; readonly packaging?: string };
      readonly destinations: Record<string, { readonly bucketName: string; readonly objectKey: string }>;
    }
  >;
}

export interface PublishedAsset {
  readonly bucket: string;
  readonly key: string;
}

/** Creates each bucket unless it exists: the stack's own buckets, as CloudFormation creates them. */
export async function createBuckets(s3: S3Client, names: readonly string[]): Promise<void> {
  for (const bucket of names) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: Error) => {
      if (error.name !== "BucketAlreadyOwnedByYou" && error.name !== "BucketAlreadyExists") throw error;
    });
  }
}

export async function publishFileAssets(
  s3: S3Client,
  assetsDir: string,
  stackName: string,
  pseudo: { readonly accountId: string; readonly region: string },
): Promise<PublishedAsset[]> {
  const manifest = JSON.parse(
    readFileSync(join(assetsDir, `${stackName}.assets.json`), "utf8"),
  ) as AssetManifest;
  const published: PublishedAsset[] = [];
  const buckets = new Set<string>();
  for (const asset of Object.values(manifest.files ?? {})) {
    if ((asset.source.packaging ?? "file") !== "file") continue;
    for (const destination of Object.values(asset.destinations)) {
      // The manifest may keep CloudFormation's placeholders for the environment.
      const bucket = destination.bucketName
        .replace(/\$\{AWS::AccountId\}/g, pseudo.accountId)
        .replace(/\$\{AWS::Region\}/g, pseudo.region);
      if (!buckets.has(bucket)) {
        buckets.add(bucket);
        await createBuckets(s3, [bucket]);
      }
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: destination.objectKey,
          Body: readFileSync(join(assetsDir, asset.source.path)),
        }),
      );
      published.push({ bucket, key: destination.objectKey });
    }
  }
  return published;
}
