// SHA-256 digests of the etcd release tarballs the nodes install, per version and architecture; the
// boot script refuses a download that does not match. Values are those of the release's
// SHA256SUMS (etcd-v<version>-linux-<arch>.tar.gz), as pinned by other projects installing etcd.
// Add a version here, or pass `etcdSha256`, to install another one.
export const ETCD_RELEASE_SHA256: Readonly<Record<string, Readonly<Record<"amd64" | "arm64", string>>>> = {
  "3.5.21": {
    amd64: "adddda4b06718e68671ffabff2f8cee48488ba61ad82900e639d108f2148501c",
    arm64: "95bf6918623a097c0385b96f139d90248614485e781ec9bee4768dbb6c79c53f",
  },
};
