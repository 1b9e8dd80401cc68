import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { mergeSnapshots, renderPrometheusText } from "../../../src/lib/metrics/prometheus-text";
import { Registry } from "../../../src/lib/metrics/registry";

describe("metrics registry", () => {
  it("renders counters, gauges and cumulative histogram buckets in the text format", () => {
    const r = new Registry();
    r.counter("x_total", "Things", ["route"]).series('/a "quoted"\n').inc(3);
    r.gauge("depth", "Depth").series().set(7);
    const h = r.histogram("lat_seconds", "Latency", [], [0.1, 1]);
    for (const v of [0.05, 0.5, 0.7, 5]) h.series().observe(v);
    const text = renderPrometheusText(r.snapshot());
    expect(text).toContain('x_total{route="/a \\"quoted\\"\\n"} 3');
    expect(text).toContain(
      'lat_seconds_bucket{le="0.1"} 1\nlat_seconds_bucket{le="1"} 3\nlat_seconds_bucket{le="+Inf"} 4',
    );
    expect(text).toContain("lat_seconds_sum 6.25\nlat_seconds_count 4");
    const parsed = parsePrometheusTextFormat(text);
    expect(parsed.map((f) => [f.name, f.type])).toEqual([
      ["x_total", "COUNTER"],
      ["depth", "GAUGE"],
      ["lat_seconds", "HISTOGRAM"],
    ]);
    expect(parsed[2]!.metrics[0]).toMatchObject({
      buckets: { "0.1": "1", "1": "3", "+Inf": "4" },
      count: "4",
    });
  });

  it("merges registries by name (one HELP and TYPE each) and refuses a name with two types", () => {
    const a = new Registry();
    a.counter("fills_total", "Fills", ["market"]).series("A").inc();
    const b = new Registry();
    b.counter("fills_total", "Fills", ["market"]).series("B").inc(2);
    const text = renderPrometheusText(mergeSnapshots([a.snapshot(), b.snapshot()]));
    expect(text.match(/# TYPE fills_total/g)).toHaveLength(1);
    expect(text).toContain('fills_total{market="A"} 1\nfills_total{market="B"} 2');
    const c = new Registry();
    c.gauge("fills_total", "Fills");
    expect(() => mergeSnapshots([a.snapshot(), c.snapshot()])).toThrow(/both counter and gauge/);
  });

  it("binds a series per label set and checks the label count", () => {
    const counter = new Registry().counter("c_total", "C", ["a", "b"]);
    expect(counter.series("1", "2")).toBe(counter.series("1", "2"));
    expect(() => counter.series("1")).toThrow(/takes labels a, b/);
  });
});
