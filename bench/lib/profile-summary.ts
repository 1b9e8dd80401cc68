// `node --import tsx bench/lib/profile-summary.ts <file.cpuprofile> [top] [bundle.js]`: self time
// per function and per source (package or file), and the GC's pauses: the quick read of a
// profile from BENCH_PROFILE.
// The Worker runs as one bundle: its lines are mapped back to modules through the bundle's
// `// path` comments (esbuild's), from `worker.js` beside the profile (BENCH_PROFILE writes it)
// or the bundle named.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The bundle's modules by first line (0-based, ascending), from its `// path` comments. */
function bundleModules(bundle: string | undefined): [number, string][] {
  if (!bundle || !existsSync(bundle)) return [];
  const starts: [number, string][] = [];
  readFileSync(bundle, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const m = /^\/\/ (\S+\.(?:[cm]?js|ts|json))$/.exec(line);
      if (m) starts.push([i, m[1]!]);
    });
  return starts;
}

function moduleAt(starts: readonly [number, string][], line: number): string | undefined {
  let lo = 0;
  let hi = starts.length - 1;
  let found: string | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]![0] <= line) [found, lo] = [starts[mid]![1], mid + 1];
    else hi = mid - 1;
  }
  return found;
}

function sourceOf(url: string, module: string | undefined): string {
  if (!url) return "(native / idle / gc)";
  const path = module ?? url;
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  return path.replace(/^.*?\/?(src|durable-objects)\//, "$1/");
}

/**
 * The garbage collector's pauses: runs of consecutive "(garbage collector)" samples, in ms
 * (first to last sample, plus one interval). The thread answers nothing during one, so the
 * longest (V8's major collections) show in an ack's tail, not in its mean.
 */
function gcPauses(profile: Profile, byId: ReadonlyMap<number, ProfileNode>): number[] {
  const pauses: number[] = [];
  let [at, start] = [0, -1];
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const gc = byId.get(id)!.callFrame.functionName === "(garbage collector)";
    if (gc && start < 0) start = at;
    if (!gc && start >= 0) {
      pauses.push((at - (profile.timeDeltas[i] ?? 0) - start) / 1000 + 0.2);
      start = -1;
    }
  });
  return pauses.sort((a, b) => b - a);
}

function main() {
  const [file, topArg, bundleArg] = process.argv.slice(2);
  if (!file) throw new Error("usage: profile-summary <file.cpuprofile> [top] [bundle.js]");
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const modules = bundleModules(bundleArg ?? join(dirname(file), "worker.js"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const selfHits = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    selfHits.set(id, (selfHits.get(id) ?? 0) + 1);
  });
  const total = profile.endTime - profile.startTime;
  const byFunction = new Map<string, [number, number]>();
  const bySource = new Map<string, [number, number]>();
  const add = (m: Map<string, [number, number]>, key: string, us: number, hits: number) => {
    const [u, h] = m.get(key) ?? [0, 0];
    m.set(key, [u + us, h + hits]);
  };
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    // Only the bundle's own lines map to its modules: workerd's built-in scripts (`node-internal:…`,
    // its Buffer and timers for the Node compatibility layer) number their lines from 1 as well,
    // and mapped, their Buffer showed as @upstash/core-analytics and @upstash/ratelimit.
    const module = modules.length && url && !/^[\w-]+:/.test(url) ? moduleAt(modules, lineNumber) : undefined;
    const source = sourceOf(url, module);
    const hits = selfHits.get(id)!;
    add(byFunction, `${functionName || "(anonymous)"}  ${source}:${lineNumber + 1}`, us, hits);
    add(bySource, source, us, hits);
  }
  // Samples come at irregular intervals on a busy machine (the sampler waits for a core too), and
  // each carries the wall time since the previous one: both shares are shown, and the intervals.
  const samples = profile.samples.length;
  const gaps = [...profile.timeDeltas].sort((a, b) => a - b);
  const at = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * q))] ?? 0;
  const print = (title: string, m: Map<string, [number, number]>) => {
    console.log(`\n${title} (share of time | share of samples)`);
    for (const [k, [us, hits]] of [...m].sort((a, b) => b[1][0] - a[1][0]).slice(0, top)) {
      const time = `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms`;
      console.log(`${time} | ${((hits / samples) * 100).toFixed(1).padStart(5)}%  ${k}`);
    }
  };
  console.log(
    `profile ${(total / 1e6).toFixed(1)} s, ${samples} samples, interval median ${at(0.5)} µs, p90 ${at(0.9)} µs, max ${at(1)} µs` +
      (modules.length
        ? `; the Worker's lines mapped to ${modules.length} modules`
        : "; no bundle: the Worker is one source"),
  );
  const pauses = gcPauses(profile, byId);
  console.log(
    `GC pauses over 15 ms: ${pauses.filter((p) => p > 15).length} (longest ${pauses
      .slice(0, 8)
      .map((p) => p.toFixed(0))
      .join(", ")} ms; all pauses ${pauses.reduce((a, p) => a + p, 0).toFixed(0)} ms)`,
  );
  print("self time by source", bySource);
  print("self time by function", byFunction);
}

main();
