import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** tmpfs, when the machine has one. */
const TMPFS = "/dev/shm";

/**
 * A fresh directory for Miniflare's local storage (Miniflare's `resourcePersistencePath`: the
 * objects' SQLite among it), on tmpfs when there is one. The local workerd fsyncs every storage
 * commit on the thread that runs all the objects' JavaScript: on this VM's disk ~3 ms a commit,
 * and 60–110 ms whenever the kernel's periodic writeback (every 5 s) is flushing the stack's other
 * files, while every object waits (~25% of the market object's thread at the trading bench's
 * order.batch load). Production storage does not stall the isolate in a local disk flush; the
 * stack's Postgres runs with fsync off for the same reason. Without this option Miniflare puts
 * it in a directory of its own under the OS temporary directory (a per-worker
 * `durableObjectsPersist` is not honoured by `convertV4MiniflareOptions`).
 */
export function objectStorageDir(name: string): string {
  const dir = mkdtempSync(join(existsSync(TMPFS) ? TMPFS : tmpdir(), `pandora-${name}-storage-`));
  // A run stopped by a signal never reaches its close(), and tmpfs keeps files in memory: removed
  // on exit too (Miniflare's own SIGINT/SIGTERM handlers exit the process).
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
