// Cold start of one Lambda bundle in a fresh `node` process, as the Node.js runtime does it: load
// the bundle (its module scope reads the config and builds the SDK clients), then handle one event.
// Writes its timings as JSON to the file named last; performance.now() counts from process start.
//
// Usage: node cold-start.cjs BUNDLE EVENT_JSON_FILE OUT_FILE
const { readFileSync, writeFileSync } = require("node:fs");

const [bundle, eventFile, outFile] = process.argv.slice(2);
if (bundle === undefined || eventFile === undefined || outFile === undefined) {
  throw new Error("usage: node cold-start.cjs BUNDLE EVENT_JSON_FILE OUT_FILE");
}
const { handler } = require(bundle);
const initMs = performance.now();
const event = JSON.parse(readFileSync(eventFile, "utf8"));
const context = {
  awsRequestId: `bench-${process.pid}`,
  functionName: "bench",
  getRemainingTimeInMillis: () => 30_000,
};

function finish(ok, detail) {
  writeFileSync(outFile, JSON.stringify({ initMs, invokeMs: performance.now() - initMs, ok, detail }));
  // SDK clients keep sockets open; Lambda freezes the process here, the bench ends it.
  process.exit(0);
}

Promise.resolve()
  .then(() => handler(event, context))
  .then(
    (result) => finish(true, result),
    (error) => finish(false, String(error)),
  );
