import { useState } from "preact/hooks";
import { api, errorMessage } from "../../../api/client";
import { FormError } from "../../../components/field";
import { useLoad } from "../../../lib/use-load";
import { Link } from "../../../router";

export function WatchlistCard() {
  const [list, reload] = useLoad(() => api.GET("/api/v1/watchlist"));
  const [markets] = useLoad(() => api.GET("/api/v1/markets"));
  const [symbol, setSymbol] = useState("");
  const [error, setError] = useState<string | null>(null);
  const watched = new Set(list?.watchlist.map((w) => w.symbol));
  const choices = markets?.markets.filter((m) => !watched.has(m.symbol)) ?? [];

  async function add(e: Event) {
    e.preventDefault();
    const pick = symbol || choices[0]?.symbol;
    if (!pick) return;
    const { error: refusal } = await api.POST("/api/v1/watchlist", { body: { symbol: pick } });
    setError(refusal ? errorMessage(refusal) : null);
    reload();
  }
  async function remove(s: string) {
    await api.DELETE("/api/v1/watchlist/{symbol}", { params: { path: { symbol: s } } });
    reload();
  }
  return (
    <section class="panel" aria-labelledby="watchlist-h">
      <h2 id="watchlist-h">Watchlist</h2>
      <ul class="plain">
        {list?.watchlist.length === 0 && <li>Nothing watched yet</li>}
        {list?.watchlist.map((w) => (
          <li key={w.symbol}>
            <Link href={`/trade/${w.symbol}`}>{w.symbol}</Link>{" "}
            <button
              type="button"
              class="small"
              onClick={() => void remove(w.symbol)}
              aria-label={`Remove ${w.symbol}`}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      {choices.length > 0 && (
        <form class="inline-form" onSubmit={add} aria-label="Add to watchlist">
          <div class="field">
            <label for="watch-market">Market</label>
            <select id="watch-market" value={symbol} onChange={(e) => setSymbol(e.currentTarget.value)}>
              {choices.map((m) => (
                <option value={m.symbol}>{m.symbol}</option>
              ))}
            </select>
          </div>
          <button type="submit">Add to watchlist</button>
        </form>
      )}
      <FormError message={error} />
    </section>
  );
}
