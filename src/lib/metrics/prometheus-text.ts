import type { MetricSnapshot } from "./registry";

/** The content type Prometheus scrapes (text exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const escapeHelp = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
const escapeLabel = (s: string) => s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(labels: Record<string, string>, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/**
 * Merges snapshots from several registries (the Worker's and each market object's) by metric
 * name, so each name gets one HELP and TYPE line, as the format requires.
 */
export function mergeSnapshots(groups: readonly (readonly MetricSnapshot[])[]): MetricSnapshot[] {
  const byName = new Map<string, MetricSnapshot>();
  for (const group of groups) {
    for (const m of group) {
      const seen = byName.get(m.name);
      if (!seen) byName.set(m.name, { ...m, series: [...m.series] });
      else if (seen.type !== m.type) throw new Error(`metric ${m.name} is both ${seen.type} and ${m.type}`);
      else seen.series.push(...m.series);
    }
  }
  return [...byName.values()];
}

/** Renders metrics in Prometheus' text exposition format (histograms as cumulative buckets). */
export function renderPrometheusText(metrics: readonly MetricSnapshot[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.series) {
      if (m.type !== "histogram") {
        lines.push(`${m.name}${labelText(s.labels)} ${formatNumber(s.value ?? 0)}`);
        continue;
      }
      const bounds = m.buckets ?? [];
      const counts = s.counts ?? [];
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += counts[i] ?? 0;
        lines.push(`${m.name}_bucket${labelText(s.labels, ["le", formatNumber(le)])} ${cumulative}`);
      });
      cumulative += counts[bounds.length] ?? 0;
      lines.push(`${m.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${cumulative}`);
      lines.push(`${m.name}_sum${labelText(s.labels)} ${formatNumber(s.sum ?? 0)}`);
      lines.push(`${m.name}_count${labelText(s.labels)} ${s.count ?? 0}`);
    }
  }
  return lines.join("\n") + "\n";
}
