import {
  CandlestickSeries,
  ColorType,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import { INTERVALS, type Candle, type Interval, type MarketFeed } from "./market-feed";

// The chart library draws with numbers: prices become floats here only, to place pixels. Every
// price the page prints stays the API's decimal string (the legend below shows the exact close).
const bar = (c: Candle) => ({
  time: Math.floor(c.open_time / 1000) as UTCTimestamp,
  open: Number(c.open),
  high: Number(c.high),
  low: Number(c.low),
  close: Number(c.close),
});

export function PriceChart(props: {
  feed: MarketFeed;
  interval: Interval;
  onInterval: (i: Interval) => void;
}) {
  const { feed, interval } = props;
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<"Candlestick"> | null>(null);
  const [last, setLast] = useState<Candle | null>(null);

  useEffect(() => {
    const c = createChart(box.current!, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#12161c" }, textColor: "#c9d1d9" },
      grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    chart.current = c;
    series.current = c.addSeries(CandlestickSeries, {
      upColor: "#2ebd85",
      downColor: "#f6465d",
      borderVisible: false,
      wickUpColor: "#2ebd85",
      wickDownColor: "#f6465d",
    });
    return () => c.remove();
  }, []);

  // History from REST when the interval changes; the socket's candle frames then move the last bar.
  useEffect(() => {
    let live = true;
    setLast(null);
    void api
      .GET("/api/v1/markets/{symbol}/candles", {
        params: { path: { symbol: feed.symbol }, query: { interval, limit: 300 } },
      })
      .then(({ data }) => {
        if (!live || !data) return;
        series.current?.setData(data.candles.map(bar));
        const newest = data.candles.at(-1) ?? null;
        if (newest) setLast((cur) => (cur && cur.open_time >= newest.open_time ? cur : newest));
      });
    return () => {
      live = false;
    };
  }, [feed, interval]);

  const candle = feed.candle.value;
  useEffect(() => {
    if (!candle || candle.interval !== interval) return;
    series.current?.update(bar(candle));
    setLast(candle);
  }, [candle, interval]);

  return (
    <section class="panel chart" aria-label="Price chart">
      <div class="panel-head">
        <h2>Chart</h2>
        <div role="group" aria-label="Candle interval" class="segmented">
          {INTERVALS.map((i) => (
            <button type="button" aria-pressed={i === interval} onClick={() => props.onInterval(i)}>
              {i}
            </button>
          ))}
        </div>
      </div>
      <p
        class="legend"
        data-testid="last-candle"
        data-close={last?.close ?? ""}
        data-open-time={last?.open_time ?? ""}
      >
        {last
          ? `O ${last.open} H ${last.high} L ${last.low} C ${last.close} V ${last.volume}`
          : "No trades yet"}
      </p>
      <div ref={box} class="chart-box" />
    </section>
  );
}
