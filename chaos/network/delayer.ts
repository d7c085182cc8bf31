// The queue reader that makes delays (delayer.py) as a child of the controller: started on the first
// delay, bound to the controller's own NFQUEUE, and stopped by closing its stdin, which also happens
// when this process dies, so a reader never outlives its owner for long (the sweeper kills any that do).
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { DELAYER_SCRIPT } from "./leftovers";
import { NetworkFaultsError } from "./system";

const READY_TIMEOUT_MS = 5000;

export class QueueReader {
  /** How the reader ended, once it has: its delays are no longer applied. */
  ended: string | undefined;

  private constructor(private readonly child: ChildProcess) {}

  /** Starts the reader of `queue` and waits until it is bound. */
  static start(queue: number, label: string): Promise<QueueReader> {
    const child = spawn("python3", [join(__dirname, DELAYER_SCRIPT), String(queue), label], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
      let stderr = "";
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(new NetworkFaultsError(`the delay queue reader (NFQUEUE ${queue}) did not start: ${why}`));
      };
      const timer = setTimeout(
        () => fail(`not ready within ${READY_TIMEOUT_MS} ms ${stderr}`),
        READY_TIMEOUT_MS,
      );
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once("error", (error) => fail(error.message));
      child.once("exit", (code) => fail(`exited with ${code}: ${stderr.trim()}`));
      child.stdout?.once("data", (chunk: Buffer) => {
        if (!chunk.toString().startsWith("ready")) return fail(`said ${chunk.toString().trim()}`);
        clearTimeout(timer);
        child.removeAllListeners("exit");
        // The reader must not keep this process alive, nor die of a pipe this process stopped reading.
        child.unref();
        for (const stream of [child.stdin, child.stdout, child.stderr]) {
          (stream as unknown as { unref?: () => void } | null)?.unref?.();
        }
        const reader = new QueueReader(child);
        child.once("exit", (code, signal) => {
          reader.ended = `exited with ${code ?? signal}${stderr === "" ? "" : `: ${stderr.trim()}`}`;
        });
        resolve(reader);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Lets every held packet go and waits for the reader to exit. */
  async stop(timeoutMs = 2000): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** For the exit hook: closing stdin is all the reader needs to release its packets and go. */
  stopSync(): void {
    this.child.stdin?.destroy();
  }
}
