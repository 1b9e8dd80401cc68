import { describe, expect, it } from "vitest";
import { CandleBook } from "../../../durable-objects/market/market-data/candles";
import { rollingTicker } from "../../../durable-objects/market/market-data/ticker";

const T0 = Date.UTC(2026, 10, 22, 3, 0, 0);

describe("candles and the rolling ticker", () => {
  it("opens a candle per interval and folds trades into OHLCV", () => {
    const book = new CandleBook();
    book.addTrade(T0 + 1_000, 100, 2);
    book.addTrade(T0 + 2_000, 105, 1);
    book.addTrade(T0 + 61_000, 95, 3); // next minute, same 5m/1h/... candle
    expect(book.currentOf("1m")).toEqual({
      interval: "1m",
      start: T0 + 60_000,
      open: 95,
      high: 95,
      low: 95,
      close: 95,
      volume: 3,
      trades: 1,
    });
    expect(book.currentOf("1h")).toEqual({
      interval: "1h",
      start: T0,
      open: 100,
      high: 105,
      low: 95,
      close: 95,
      volume: 6,
      trades: 3,
    });
    expect(book.takeDirty()).toHaveLength(7); // two 1m candles and five longer ones
    expect(book.takeDirty()).toHaveLength(0);
  });

  it("never rewrites a closed candle when the clock steps back", () => {
    const book = new CandleBook();
    book.addTrade(T0 + 120_000, 100, 1);
    book.addTrade(T0 + 30_000, 200, 1);
    expect(book.currentOf("1m")).toMatchObject({ start: T0 + 120_000, high: 100, trades: 1 });
  });

  it("restores from stored candles and keeps a day of minutes for the ticker", () => {
    const book = new CandleBook();
    book.load([
      { interval: "1m", start: T0, open: 100, high: 110, low: 90, close: 105, volume: 4, trades: 2 },
      {
        interval: "1m",
        start: T0 + 60_000,
        open: 105,
        high: 120,
        low: 104,
        close: 110,
        volume: 1,
        trades: 1,
      },
      {
        interval: "1d",
        start: T0 - (T0 % 86_400_000),
        open: 100,
        high: 120,
        low: 90,
        close: 110,
        volume: 5,
        trades: 3,
      },
    ]);
    expect(book.currentOf("1m")!.start).toBe(T0 + 60_000);
    const t = rollingTicker(book.minutes, T0 + 120_000, 110);
    expect(t).toMatchObject({
      open: 100,
      high: 120,
      low: 90,
      last: 110,
      volume: 5,
      trades: 3,
      changeBps: 1000,
    });
    // A day later the first minute has left the window.
    expect(rollingTicker(book.minutes, T0 + 86_400_000 + 60_000, 110)).toMatchObject({
      open: 105,
      volume: 1,
    });
    expect(rollingTicker([], T0, 0)).toMatchObject({ open: 0, last: 0, changeBps: 0 });
  });
});
