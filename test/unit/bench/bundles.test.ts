import assert from "node:assert/strict";
import { test } from "node:test";
import type { Metafile } from "esbuild";
import { describeShares } from "../../../bench/lambda/bundles";

test("bundle contents are summed per package, scoped packages and own code included, largest first", () => {
  const metafile = {
    inputs: {},
    outputs: {
      "out.js": {
        bytes: 1000,
        entryPoint: "lambdas/handlers/launch-hook.ts",
        imports: [],
        exports: [],
        inputs: {
          "node_modules/zod/v4/core/a.js": { bytesInOutput: 300 },
          "node_modules/zod/v4/core/b.js": { bytesInOutput: 100 },
          "node_modules/@aws-sdk/client-ec2/dist-es/x.js": { bytesInOutput: 500 },
          "lambdas/app/runtime.ts": { bytesInOutput: 100 },
        },
      },
    },
  } as unknown as Metafile;
  assert.equal(describeShares(metafile, 2), "@aws-sdk/client-ec2 1 KB (50 %), zod 0 KB (40 %)");
  assert.match(describeShares(metafile, 3), /lambdas\/ \(own code\) 0 KB \(10 %\)$/);
});
