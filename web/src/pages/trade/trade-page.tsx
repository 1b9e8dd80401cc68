import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Market } from "../../lib/order-rules";
import { session } from "../../state/session";
import { MarketFeed, type Interval } from "./market-feed";
import { MarketPicker } from "./market-picker";
import { MyOrders } from "./my-orders";
import { OrderBook } from "./order-book";
import { OrderForm } from "./order-form";
import { PriceChart } from "./price-chart";
import { RecentTrades } from "./recent-trades";

export function TradePage(props: { symbol: string }) {
  const [markets, setMarkets] = useState<Market[] | null>(null);
  const [feed, setFeed] = useState<MarketFeed | null>(null);
  const [interval, setInterval] = useState<Interval>("1m");
  const [price, setPrice] = useState("");
  const [bump, setBump] = useState(0);
  const token = session.value?.accessToken ?? null;

  useEffect(() => {
    void api.GET("/api/v1/markets").then(({ data }) => data && setMarkets(data.markets));
  }, []);
  useEffect(() => {
    const f = new MarketFeed(props.symbol, session.peek()?.accessToken ?? null, interval);
    setFeed(f);
    setPrice("");
    return () => f.stop();
  }, [props.symbol]);
  useEffect(() => feed?.setToken(token), [feed, token]);
  useEffect(() => feed?.setInterval(interval), [feed, interval]);

  const market = markets?.find((m) => m.symbol === props.symbol);
  if (markets && !market) {
    return (
      <main class="page">
        <h1>Unknown market {props.symbol}</h1>
      </main>
    );
  }
  if (!market || !feed) return <main class="page">Loading…</main>;
  const ticker = feed.ticker.value;
  return (
    <main class="trade" data-socket={feed.status.value}>
      <h1 class="visually-hidden">Trade {market.symbol}</h1>
      <MarketPicker markets={markets!} current={market.symbol} liveTicker={ticker} />
      <div class="ticker-bar" aria-label={`${market.symbol} ticker`}>
        <strong>{market.symbol.replace("-", "/")}</strong>
        <span>Last {ticker?.last_price ?? "–"}</span>
        <span class={ticker?.price_change_percent.startsWith("-") ? "down" : "up"}>
          24h {ticker?.price_change_percent ?? "0"}%
        </span>
        <span>High {ticker?.high_price ?? "–"}</span>
        <span>Low {ticker?.low_price ?? "–"}</span>
        <span>
          Volume {ticker?.volume ?? "0"} {market.base_asset}
        </span>
        <span class={`socket ${feed.status.value}`}>{feed.status.value}</span>
      </div>
      <PriceChart feed={feed} interval={interval} onInterval={setInterval} />
      <OrderBook feed={feed} market={market} onPrice={setPrice} />
      <RecentTrades feed={feed} />
      <OrderForm
        market={market}
        balances={feed.balances.value}
        price={price}
        onPrice={setPrice}
        onPlaced={() => setBump((b) => b + 1)}
      />
      {session.value && (
        <MyOrders
          market={market}
          version={feed.accountVersion.value + bump}
          balances={feed.balances.value}
          onChanged={() => setBump((b) => b + 1)}
        />
      )}
    </main>
  );
}
