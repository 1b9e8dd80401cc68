import { execFile } from "node:child_process";
import { chmod, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const OTHERS_EXEC = 0o001;
const OTHERS_READ = 0o004;

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * As root, Postgres runs as the unprivileged `postgres` user, which must be able to
 * traverse every directory above its data dir (mkdtemp makes 0700 directories).
 */
export async function ensureTraversable(dir: string): Promise<void> {
  if (!isRoot()) return;
  let current = path.resolve(dir);
  for (;;) {
    const mode = (await stat(current)).mode;
    if ((mode & OTHERS_EXEC) === 0) await chmod(current, (mode & 0o7777) | OTHERS_EXEC);
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/** The `postgres` user must also read and execute the npm-shipped binaries and libraries. */
export async function ensureReadableTree(dir: string): Promise<void> {
  if (!isRoot()) return;
  await ensureTraversable(dir);
  const mode = (await stat(dir)).mode;
  if ((mode & (OTHERS_EXEC | OTHERS_READ)) !== (OTHERS_EXEC | OTHERS_READ)) {
    await run("chmod", ["-R", "o+rX", dir]);
  }
}

/** uid/gid of the `postgres` user when we are root (it owns the data dir and runs pg_ctl). */
export async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined;
  const [uid, gid] = await Promise.all([
    run("id", ["-u", "postgres"]).then((r) => Number.parseInt(r.stdout, 10)),
    run("id", ["-g", "postgres"]).then((r) => Number.parseInt(r.stdout, 10)),
  ]);
  return { uid, gid };
}
