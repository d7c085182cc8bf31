// The etcd-asg package's root: the folder of its package.json, found by walking up from this file. It
// is the repository root when the construct runs from source (cdk/lib/) and the installed package's
// folder when it runs compiled (node_modules/etcd-asg/dist/pkg/cdk/lib/); the Lambda bundles, the boot
// script and the user-data template are found relative to it in both.
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

const PACKAGE_NAME = "etcd-asg";

export const PACKAGE_ROOT = packageRoot(__dirname);

function packageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === PACKAGE_NAME
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(
        `no package.json named ${PACKAGE_NAME} above ${start}: the etcd-asg package is incomplete`,
      );
    }
  }
}
