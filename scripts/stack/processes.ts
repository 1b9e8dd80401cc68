import { readFile, readlink } from "node:fs/promises";

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until the pid is gone; true if it exited within the time. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Sends `sig`, then SIGKILL if the process outlives the grace period. */
export async function terminate(pid: number, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  signal(pid, sig);
  if (await waitForExit(pid, graceMs)) return;
  signal(pid, "SIGKILL");
  await waitForExit(pid, 2000);
}

/** First line of a pid file as a number, or undefined when missing or garbled. */
export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const first = (await readFile(path, "utf8")).split("\n")[0]?.trim() ?? "";
    const pid = Number.parseInt(first, 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The process's argv joined by spaces (Linux /proc); "" when unknown. */
export async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** The process's working directory (Linux /proc); "" when unknown. */
export async function workingDir(pid: number): Promise<string> {
  try {
    return await readlink(`/proc/${pid}/cwd`);
  } catch {
    return "";
  }
}
