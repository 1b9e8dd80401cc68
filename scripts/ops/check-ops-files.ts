/**
 * `npm run lint` for the operations files: the Prometheus alert rules and the Grafana dashboard
 * (every expression parsed with Prometheus' own PromQL grammar, every metric it names one that
 * Pandora exports, with the suffixes its type allows) and the deploy workflow (validated against
 * GitHub's workflow schema by action-validator). Exits 1 with every problem listed.
 */
import { validateWorkflow } from "@action-validator/core";
import { parser } from "@prometheus-io/lezer-promql";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { metricCatalog } from "./metric-catalog";

const ALERTS = "docs/ops/alerts.yml";
const DASHBOARD = "docs/ops/grafana-dashboard.json";
const WORKFLOW = ".github/workflows/deploy.yml";
const SEVERITIES = new Set(["page", "ticket"]);

const catalog = metricCatalog();
const problems: string[] = [];

/** The exported metric a selector names: histograms are queried by `_bucket`, `_sum`, `_count`. */
function exported(name: string): boolean {
  if (catalog.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name && catalog.get(base) === "histogram";
}

/** Parses one PromQL expression; returns the problems (syntax, unknown metrics). */
function checkExpr(where: string, expr: unknown): void {
  if (typeof expr !== "string" || !expr.trim()) {
    problems.push(`${where}: no expression`);
    return;
  }
  const tree = parser.parse(expr);
  let names = 0;
  tree.iterate({
    enter(node) {
      if (node.type.isError) problems.push(`${where}: PromQL syntax error at ${node.from} in: ${expr}`);
      if (node.name === "VectorSelector") {
        const id = node.node.getChild("Identifier");
        if (!id) return;
        const name = expr.slice(id.from, id.to);
        names++;
        if (!exported(name)) problems.push(`${where}: ${name} is not a metric Pandora exports`);
      }
    },
  });
  if (names === 0) problems.push(`${where}: names no metric`);
}

interface Rule {
  alert?: string;
  expr?: unknown;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function checkAlerts(): number {
  const doc = parseYaml(readFileSync(ALERTS, "utf8")) as { groups?: { name?: string; rules?: Rule[] }[] };
  let count = 0;
  const seen = new Set<string>();
  if (!Array.isArray(doc?.groups) || doc.groups.length === 0) problems.push(`${ALERTS}: no groups`);
  for (const group of doc?.groups ?? []) {
    if (!group.name) problems.push(`${ALERTS}: a group without a name`);
    for (const rule of group.rules ?? []) {
      const where = `${ALERTS} ${rule.alert ?? "(unnamed)"}`;
      count++;
      if (!rule.alert || !/^[A-Za-z][A-Za-z0-9]*$/.test(rule.alert)) problems.push(`${where}: alert name`);
      if (rule.alert && seen.has(rule.alert)) problems.push(`${where}: defined twice`);
      seen.add(rule.alert ?? "");
      if (rule.for !== undefined && !/^\d+[smhd]$/.test(rule.for))
        problems.push(`${where}: for is not a duration`);
      if (!SEVERITIES.has(rule.labels?.severity ?? ""))
        problems.push(`${where}: severity must be page or ticket`);
      if (!rule.annotations?.summary) problems.push(`${where}: no summary annotation`);
      checkExpr(where, rule.expr);
    }
  }
  return count;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function checkDashboard(): number {
  const doc = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels?: Panel[] };
  let count = 0;
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        count++;
        // Grafana's variables are not PromQL: a `$market` inside a matcher's string is fine.
        checkExpr(`${DASHBOARD} "${p.title}"`, t.expr);
      }
      walk(p.panels ?? []);
    }
  };
  walk(doc.panels ?? []);
  if (count === 0) problems.push(`${DASHBOARD}: no queries`);
  return count;
}

function checkWorkflow(): void {
  const state = validateWorkflow(readFileSync(WORKFLOW, "utf8"));
  for (const e of state.errors) {
    problems.push(
      `${WORKFLOW}: ${e.title}${"path" in e ? ` at ${e.path}` : ""}${e.detail ? `: ${e.detail}` : ""}`,
    );
  }
}

const rules = checkAlerts();
const queries = checkDashboard();
checkWorkflow();
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`ops files ok: ${rules} alert rules, ${queries} dashboard queries, ${WORKFLOW} valid`);
