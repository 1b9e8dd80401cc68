// `node --max-old-space-size=8000 --import tsx bench/lib/heap-summary.ts <a.heapsnapshot> [b.heapsnapshot] [top]`:
// what a V8 heap snapshot (BENCH_HEAP_SNAPSHOT=1) holds — self size and count per constructor
// (strings, arrays and code by their kind), and the objects retaining the most (dominator tree:
// what would be freed with them), each with the path that holds it. Given two snapshots, the
// per-constructor difference b − a: what a phase left behind.
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Heap {
  count: number;
  type: (n: number) => string;
  name: (n: number) => string;
  self: Float64Array;
  /** Outgoing edges of node n: edgeStart[n] .. edgeStart[n + 1] (edge indexes). */
  edgeStart: Uint32Array;
  edgeTo: Uint32Array;
  edgeType: (e: number) => string;
  edgeName: (e: number) => string;
}

function load(file: string): Heap {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const [nType, nName, nSelf, nEdges] = ["type", "name", "self_size", "edge_count"].map((f) =>
    nf.indexOf(f),
  ) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const count = s.nodes.length / nf.length;
  const self = new Float64Array(count);
  const edgeStart = new Uint32Array(count + 1);
  let e = 0;
  for (let n = 0; n < count; n++) {
    self[n] = s.nodes[n * nf.length + nSelf]!;
    edgeStart[n] = e;
    e += s.nodes[n * nf.length + nEdges]!;
  }
  edgeStart[count] = e;
  const edgeTo = new Uint32Array(e);
  for (let i = 0; i < e; i++) edgeTo[i] = s.edges[i * ef.length + eTo]! / nf.length;
  const edgeType = (i: number) => edgeTypes[s.edges[i * ef.length + eType]!]!;
  return {
    count,
    type: (n) => nodeTypes[s.nodes[n * nf.length + nType]!]!,
    name: (n) => s.strings[s.nodes[n * nf.length + nName]!]!,
    self,
    edgeStart,
    edgeTo,
    edgeType,
    edgeName: (i) => {
      const v = s.edges[i * ef.length + eName]!;
      const t = edgeType(i);
      return t === "element" || t === "hidden" ? `[${v}]` : s.strings[v]!;
    },
  };
}

/** A node's class: an object's constructor, else its kind (strings of all kinds are one class). */
function classOf(h: Heap, n: number): string {
  const t = h.type(n);
  if (t === "object" || t === "closure" || t === "native") return h.name(n) || `(${t})`;
  if (t === "string" || t === "concatenated string" || t === "sliced string") return "(string)";
  if (t === "array" || t === "hidden" || t === "object shape") return `(${t}) ${h.name(n).slice(0, 40)}`;
  return `(${t})`;
}

function byClass(h: Heap): Map<string, { size: number; count: number }> {
  const out = new Map<string, { size: number; count: number }>();
  for (let n = 0; n < h.count; n++) {
    const c = classOf(h, n);
    const row = out.get(c) ?? { size: 0, count: 0 };
    row.size += h.self[n]!;
    row.count++;
    out.set(c, row);
  }
  return out;
}

/** Immediate dominators (Cooper, Harvey & Kennedy's iteration) over strong edges from node 0. */
function dominators(h: Heap): { idom: Int32Array; order: Uint32Array; reached: number } {
  const strong = (e: number) => h.edgeType(e) !== "weak";
  const post = new Int32Array(h.count).fill(-1);
  const order = new Uint32Array(h.count); // nodes by postorder number
  const stack = [0];
  const next = new Uint32Array(h.count);
  const seen = new Uint8Array(h.count);
  seen[0] = 1;
  for (let n = 0; n < h.count; n++) next[n] = h.edgeStart[n]!;
  let reached = 0;
  while (stack.length) {
    const n = stack[stack.length - 1]!;
    if (next[n]! < h.edgeStart[n + 1]!) {
      const e = next[n]!++;
      const to = h.edgeTo[e]!;
      if (!seen[to] && strong(e)) {
        seen[to] = 1;
        stack.push(to);
      }
    } else {
      stack.pop();
      post[n] = reached;
      order[reached++] = n;
    }
  }
  // Predecessors (strong edges between reached nodes), as a CSR.
  const predCount = new Uint32Array(h.count + 1);
  for (let n = 0; n < h.count; n++) {
    if (post[n]! < 0) continue;
    for (let e = h.edgeStart[n]!; e < h.edgeStart[n + 1]!; e++)
      if (strong(e) && post[h.edgeTo[e]!]! >= 0) predCount[h.edgeTo[e]! + 1]!++;
  }
  for (let n = 0; n < h.count; n++) predCount[n + 1]! += predCount[n]!;
  const preds = new Uint32Array(predCount[h.count]!);
  const fill = predCount.slice();
  for (let n = 0; n < h.count; n++) {
    if (post[n]! < 0) continue;
    for (let e = h.edgeStart[n]!; e < h.edgeStart[n + 1]!; e++)
      if (strong(e) && post[h.edgeTo[e]!]! >= 0) preds[fill[h.edgeTo[e]!]!++] = n;
  }
  const idom = new Int32Array(h.count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (post[a]! < post[b]!) a = idom[a]!;
      while (post[b]! < post[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = reached - 2; i >= 0; i--) {
      const n = order[i]!;
      let d = -1;
      for (let p = predCount[n]!; p < predCount[n + 1]!; p++) {
        const q = preds[p]!;
        if (idom[q]! < 0) continue;
        d = d < 0 ? q : intersect(q, d);
      }
      if (d >= 0 && idom[n] !== d) {
        idom[n] = d;
        changed = true;
      }
    }
  }
  return { idom, order, reached };
}

/** The edge name by which `from` holds `to` (directly), or "…" when it holds it through others. */
function edgeBetween(h: Heap, from: number, to: number): string {
  for (let e = h.edgeStart[from]!; e < h.edgeStart[from + 1]!; e++)
    if (h.edgeTo[e] === to) return h.edgeName(e);
  return "…";
}

const mb = (b: number) => (b / 1e6).toFixed(2);

function summary(file: string, top: number): Map<string, { size: number; count: number }> {
  const h = load(file);
  const classes = byClass(h);
  const total = h.self.reduce((a, b) => a + b, 0);
  console.log(`## ${file}: ${h.count} nodes, ${mb(total)} MB self in all`);
  console.log("\n| class | MB | count |\n| --- | ---: | ---: |");
  for (const [c, r] of [...classes].sort((a, b) => b[1].size - a[1].size).slice(0, top))
    console.log(`| ${c} | ${mb(r.size)} | ${r.count} |`);

  const { idom, order, reached } = dominators(h);
  const retained = Float64Array.from(h.self);
  for (let i = 0; i < reached - 1; i++) {
    const n = order[i]!;
    retained[idom[n]!]! += retained[n]!;
  }
  // The biggest retainers that are JS objects of the program (not the roots' synthetic nodes),
  // skipping those held inside a bigger one already listed with less than 80% of its size.
  const candidates: number[] = [];
  for (let n = 1; n < h.count; n++) {
    const t = h.type(n);
    if (idom[n]! >= 0 && (t === "object" || t === "closure" || t === "array") && retained[n]! > 100_000)
      candidates.push(n);
  }
  candidates.sort((a, b) => retained[b]! - retained[a]!);
  const path = (n: number) => {
    const parts: string[] = [];
    for (let x = n, i = 0; x !== 0 && i < 8; x = idom[x]!, i++)
      parts.push(`${classOf(h, idom[x]!)}.${edgeBetween(h, idom[x]!, x)}`);
    return parts.reverse().join(" > ");
  };
  console.log(`\n| retained MB | class | held by (dominator path) |\n| ---: | --- | --- |`);
  for (const n of candidates.slice(0, top))
    console.log(`| ${mb(retained[n]!)} | ${classOf(h, n)} | ${path(n)} |`);
  return classes;
}

const files = process.argv.slice(2).filter((a) => !/^\d+$/.test(a));
const top = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 30);
const sums = files.map((f) => summary(f, top));
if (sums.length === 2) {
  const [a, b] = sums as [
    Map<string, { size: number; count: number }>,
    Map<string, { size: number; count: number }>,
  ];
  const keys = new Set([...a.keys(), ...b.keys()]);
  const diff = [...keys].map((k) => ({
    k,
    size: (b.get(k)?.size ?? 0) - (a.get(k)?.size ?? 0),
    count: (b.get(k)?.count ?? 0) - (a.get(k)?.count ?? 0),
  }));
  console.log(`\n## b − a by class\n\n| class | MB | count |\n| --- | ---: | ---: |`);
  for (const d of diff.sort((x, y) => Math.abs(y.size) - Math.abs(x.size)).slice(0, top))
    console.log(`| ${d.k} | ${mb(d.size)} | ${d.count} |`);
}
