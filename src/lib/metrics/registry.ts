/**
 * In-memory metrics: counters, gauges and histograms with fixed label names, counted where things
 * happen and rendered in Prometheus' text format on a scrape (`./prometheus-text.ts`).
 *
 * Why not `prom-client`: it needs Node's `cluster`, `v8` and `perf_hooks` and cannot load in
 * workerd; the other JavaScript clients on npm are unmaintained. This is the small part we need.
 *
 * The hot path is an array index and an addition: `series(...labelValues)` returns a child that
 * callers bind once (per route, per market, per reason) and increment without any lookup.
 * Nothing here does I/O; a snapshot is plain data, so a Durable Object can return its own over RPC.
 */

export type MetricType = "counter" | "gauge" | "histogram";

export interface SeriesSnapshot {
  labels: Record<string, string>;
  /** Counter or gauge value. */
  value?: number;
  /** Histogram: per-bucket counts (not cumulative), one more than `buckets` (the +Inf bucket). */
  counts?: number[];
  sum?: number;
  count?: number;
}

export interface MetricSnapshot {
  name: string;
  help: string;
  type: MetricType;
  /** Histogram upper bounds, ascending. */
  buckets?: number[];
  series: SeriesSnapshot[];
}

/** Latency buckets in seconds: 1 ms to 10 s (HTTP requests, Postgres, Redis, funds locks). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Settlement lag buckets in seconds: a healthy market settles within a second, an incident in minutes. */
export const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export class CounterSeries {
  value = 0;
  constructor(readonly labelValues: readonly string[]) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class GaugeSeries {
  value = 0;
  constructor(readonly labelValues: readonly string[]) {}
  set(v: number): void {
    this.value = v;
  }
  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labelValues: readonly string[],
    private readonly buckets: readonly number[],
  ) {
    this.counts = new Float64Array(buckets.length + 1);
  }
  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

type AnySeries = CounterSeries | GaugeSeries | HistogramSeries;

abstract class Metric<S extends AnySeries> {
  private readonly children = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  abstract readonly type: MetricType;
  protected abstract create(values: readonly string[]): S;

  /** The series for these label values (in `labelNames` order); bind it once and reuse it. */
  series(...values: string[]): S {
    const key = values.length === 1 ? values[0]! : values.join("\u0000");
    let child = this.children.get(key);
    if (!child) {
      if (values.length !== this.labelNames.length) {
        throw new Error(`${this.name} takes labels ${this.labelNames.join(", ")}`);
      }
      child = this.create(values);
      this.children.set(key, child);
    }
    return child;
  }

  /** Forgets every series (gauges recomputed at each scrape). */
  reset(): void {
    this.children.clear();
  }

  snapshot(): MetricSnapshot {
    const series: SeriesSnapshot[] = [];
    for (const s of this.children.values()) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = s.labelValues[i]!));
      series.push(this.seriesSnapshot(s, labels));
    }
    return { name: this.name, help: this.help, type: this.type, ...this.extra(), series };
  }

  protected extra(): Partial<MetricSnapshot> {
    return {};
  }
  protected abstract seriesSnapshot(s: S, labels: Record<string, string>): SeriesSnapshot;
}

/** Counters and gauges: one number per series. */
abstract class ValueMetric<S extends CounterSeries | GaugeSeries> extends Metric<S> {
  protected seriesSnapshot(s: S, labels: Record<string, string>) {
    return { labels, value: s.value };
  }
}

export class Counter extends ValueMetric<CounterSeries> {
  readonly type = "counter";
  protected create(values: readonly string[]) {
    return new CounterSeries(values);
  }
}

export class Gauge extends ValueMetric<GaugeSeries> {
  readonly type = "gauge";
  protected create(values: readonly string[]) {
    return new GaugeSeries(values);
  }
}

export class Histogram extends Metric<HistogramSeries> {
  readonly type = "histogram";
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected create(values: readonly string[]) {
    return new HistogramSeries(values, this.buckets);
  }
  protected override extra() {
    return { buckets: [...this.buckets] };
  }
  protected seriesSnapshot(s: HistogramSeries, labels: Record<string, string>) {
    return { labels, counts: Array.from(s.counts), sum: s.sum, count: s.count };
  }
}

/** A set of metrics rendered together; names must be unique within it. */
export class Registry {
  private readonly metrics: Metric<AnySeries>[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Every metric's name (the alert-rule lint checks expressions against these). */
  names(): string[] {
    return this.metrics.map((m) => m.name);
  }

  snapshot(): MetricSnapshot[] {
    return this.metrics.map((m) => m.snapshot());
  }

  private add<M extends Metric<AnySeries>>(metric: M): M {
    if (this.metrics.some((m) => m.name === metric.name)) throw new Error(`duplicate metric ${metric.name}`);
    this.metrics.push(metric);
    return metric;
  }
}

/** Times a round trip into a histogram and counts its failure. */
export async function timed<T>(
  work: () => Promise<T>,
  duration: { observe(v: number): void },
  errors: { inc(): void },
): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } catch (err) {
    errors.inc();
    throw err;
  } finally {
    duration.observe((performance.now() - started) / 1000);
  }
}
