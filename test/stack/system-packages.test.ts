// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ensureSystemPrograms, type SystemAccess } from "../../scripts/lib/system-packages";

function fakeSystem(installed: string[], isRoot: boolean, aptWorks = true) {
  const runs: string[] = [];
  const said: string[] = [];
  const system: SystemAccess = {
    has: (bin) => installed.includes(bin),
    isRoot,
    run: (command, args) => {
      runs.push([command, ...args].join(" "));
      if (aptWorks && args[0] === "install") installed.push("redis-server", "pgbouncer");
      return aptWorks ? 0 : 100;
    },
    say: (line) => said.push(line),
  };
  return { system, runs, said };
}

test("nothing missing: nothing run, nothing said", () => {
  const { system, runs, said } = fakeSystem(["redis-server", "pgbouncer", "apt-get"], false);
  assert.equal(ensureSystemPrograms(system), true);
  assert.deepEqual(runs, []);
  assert.deepEqual(said, []);
});

test("as root with apt-get: installs exactly what is missing", () => {
  const { system, runs } = fakeSystem(["pgbouncer", "apt-get"], true);
  assert.equal(ensureSystemPrograms(system), true);
  assert.deepEqual(runs, ["apt-get update -qq", "apt-get install -y -qq redis-server"]);
});

test("as root when apt-get fails: false, and says so", () => {
  const { system, said } = fakeSystem(["apt-get"], true, false);
  assert.equal(ensureSystemPrograms(system), false);
  assert.match(said.at(-1)!, /could not install redis-server, pgbouncer/);
});

test("not root: prints the exact command and installs nothing", () => {
  const { system, runs, said } = fakeSystem(["apt-get"], false);
  assert.equal(ensureSystemPrograms(system), false);
  assert.deepEqual(runs, []);
  assert.match(said.join("\n"), /sudo apt-get install -y redis-server pgbouncer/);
});

const root = fileURLToPath(new URL("../..", import.meta.url));
/** Runs a script as a user without root on a machine where PATH holds neither program. */
function runWithoutPrograms(script: string) {
  return spawnSync(process.execPath, ["--import", "tsx", script], {
    cwd: root,
    encoding: "utf8",
    // A PATH with node only: redis-server and pgbouncer are not found there (nor in /usr/sbin
    // when they are not installed; when they are, the check passes, which is also right).
    env: { ...process.env, PATH: "/nonexistent", PANDORA_ASSUME_NON_ROOT: "1" },
    timeout: 60_000,
  });
}

test("the script itself, on a machine without them and without root: exit 1 with the command", () => {
  const result = runWithoutPrograms("scripts/ensure-system-packages.ts");
  if (result.status === 0) return; // both installed in /usr/sbin or /sbin on this machine
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /sudo apt-get install -y .*redis-server/);
});

test("`npm run dev` (scripts/dev.ts) on such a machine: exit 1 with the command, before it starts anything", (t) => {
  // Only where the check fails: otherwise dev.ts would go on to start the whole stack.
  if (runWithoutPrograms("scripts/ensure-system-packages.ts").status === 0) return t.skip("both installed");
  const result = runWithoutPrograms("scripts/dev.ts");
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stdout, /sudo apt-get install -y .*redis-server/);
  assert.doesNotMatch(result.stdout, /ADMIN_EMAIL|migrations applied|Pandora is up/);
});
