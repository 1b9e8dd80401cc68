import { spawn } from "node:child_process";

// Runs in a tiny separate process: when its stdin closes (its parent died, however), it
// terminates the given process group, then kills it outright if it lingers.
const REAPER = `
const pgid = Number(process.argv[1]);
const kill = (sig) => { try { process.kill(-pgid, sig); } catch {} };
process.stdin.on("data", () => {});
process.stdin.on("close", () => {
  kill("SIGTERM");
  setTimeout(() => { kill("SIGKILL"); process.exit(0); }, 5000).unref();
  const poll = setInterval(() => { try { process.kill(-pgid, 0); } catch { clearInterval(poll); process.exit(0); } }, 100);
});
`;

/**
 * Ties a detached process group to this process's life: if this process exits for any
 * reason, even SIGKILL, the group is stopped. (The stack supervisor does the same with its
 * own stdin; wrangler has no such switch, so a reaper holds the pipe for it.)
 */
export function tieGroupToThisProcess(pgid: number): void {
  const reaper = spawn(process.execPath, ["-e", REAPER, String(pgid)], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  reaper.unref();
  (reaper.stdin as unknown as { unref?(): void }).unref?.();
}
