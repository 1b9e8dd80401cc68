import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Market } from "../../lib/order-rules";
import { navigate } from "../../router";
import type { Ticker } from "./market-feed";

/** Every market with its last price and 24 h change (REST once; the open market's ticker is live). */
export function MarketPicker(props: { markets: Market[]; current: string; liveTicker: Ticker | null }) {
  const [tickers, setTickers] = useState<Record<string, Ticker>>({});
  useEffect(() => {
    for (const m of props.markets) {
      void api
        .GET("/api/v1/markets/{symbol}/ticker", { params: { path: { symbol: m.symbol } } })
        .then(({ data }) => data && setTickers((t) => ({ ...t, [m.symbol]: data })));
    }
  }, [props.markets]);
  const tickerOf = (symbol: string) =>
    symbol === props.current && props.liveTicker ? props.liveTicker : tickers[symbol];

  return (
    <nav class="picker" aria-label="Markets">
      <ul>
        {props.markets.map((m) => {
          const t = tickerOf(m.symbol);
          const change = t?.price_change_percent ?? "0";
          return (
            <li key={m.symbol}>
              <a
                href={`/trade/${m.symbol}`}
                aria-current={m.symbol === props.current ? "page" : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(`/trade/${m.symbol}`);
                }}
              >
                <strong>{m.symbol.replace("-", "/")}</strong>
                <span data-testid={`last-price-${m.symbol}`}>{t?.last_price ?? "–"}</span>
                <span class={change.startsWith("-") ? "down" : "up"}>
                  {change.startsWith("-") ? "" : "+"}
                  {change}%
                </span>
                {m.status !== "trading" && <em class="badge">{m.status}</em>}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
