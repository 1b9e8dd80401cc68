import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { log } from "./log";
import { stopStalePostgres } from "./postgres";
import { commandLine, isAlive, readPidFile } from "./processes";
import { stopStaleRedis } from "./redis";

function pidFilePath(dataDir: string): string {
  return path.join(dataDir, "supervisor.pid");
}

/**
 * Takes ownership of the data dir. A live supervisor on it is an error; a dead one (SIGKILLed)
 * may have left postgres and redis-server running: stop them by their own pid files.
 */
export async function claimDataDir(dataDir: string): Promise<void> {
  const pidFile = pidFilePath(dataDir);
  const pid = await readPidFile(pidFile);
  if (pid !== undefined && pid !== process.pid && isAlive(pid)) {
    if ((await commandLine(pid)).includes("supervisor")) {
      throw new Error(
        `another stack supervisor (pid ${pid}) already runs on ${dataDir}: stop it, or use another data dir`,
      );
    }
  }
  if (pid !== undefined) log(`supervisor pid ${pid} did not stop cleanly: cleaning up after it`);
  // Also without a supervisor.pid: the services' own pid files are the source of truth.
  await Promise.all([stopStaleRedis(dataDir), stopStalePostgres(dataDir)]);
  await writeFile(pidFile, `${process.pid}\n`);
}

export async function releaseDataDir(dataDir: string): Promise<void> {
  const pidFile = pidFilePath(dataDir);
  if ((await readPidFile(pidFile)) === process.pid) await rm(pidFile, { force: true });
}
