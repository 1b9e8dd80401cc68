import type { Level, MarketFeed } from "./market-feed";
import type { Market } from "../../lib/order-rules";

/** The live book as one table: asks above (best ask nearest the middle), bids below. */
export function OrderBook(props: { feed: MarketFeed; market: Market; onPrice: (price: string) => void }) {
  const { feed, market } = props;
  const book = feed.book.value;
  const row = (side: "ask" | "bid") => (level: Level) => (
    <tr class={side} key={`${side}${level[0]}`} aria-label={side === "ask" ? "Ask" : "Bid"}>
      <td>
        <button
          type="button"
          class="price-pick"
          onClick={() => props.onPrice(level[0])}
          aria-label={`Use price ${level[0]}`}
        >
          {level[0]}
        </button>
      </td>
      <td>{level[1]}</td>
    </tr>
  );
  return (
    <section class="panel book">
      <table
        aria-label="Order book"
        data-testid="order-book"
        data-update-id={book?.lastUpdateId ?? ""}
        data-resyncs={feed.resyncs.value}
      >
        <caption>Order book</caption>
        <thead>
          <tr>
            <th scope="col">Price ({market.quote_asset})</th>
            <th scope="col">Quantity ({market.base_asset})</th>
          </tr>
        </thead>
        <tbody>
          {book === null ? (
            <tr>
              <td colSpan={2}>Loading the book…</td>
            </tr>
          ) : (
            <>
              {[...book.asks].reverse().map(row("ask"))}
              <tr class="spread">
                <td colSpan={2}>
                  {book.asks.length === 0 && book.bids.length === 0
                    ? "The book is empty"
                    : `Last ${feed.ticker.value?.last_price ?? "–"}`}
                </td>
              </tr>
              {book.bids.map(row("bid"))}
            </>
          )}
        </tbody>
      </table>
    </section>
  );
}
