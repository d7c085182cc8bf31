// The control-plane functions' memory. Lambda sizes a function's CPU share and its Node heap from
// it; the cold-start bench starts each bundle's Node with the heap flags Lambda would
// (bench/lambda/cold-init.ts), as the simulator does from the template.
import type { FunctionName } from "./function-tag";

/** Every control-plane function's memory but the snapshot function's. */
export const FUNCTION_MEMORY_MB = 256;

/** The snapshot function's memory; its upload is tuned to it and measured within it
 * (test/integration/snapshot-memory.test.ts). */
export const SNAPSHOT_FUNCTION_MEMORY_MB = 512;

export function functionMemoryMb(name: FunctionName): number {
  return name === "snapshot" ? SNAPSHOT_FUNCTION_MEMORY_MB : FUNCTION_MEMORY_MB;
}
