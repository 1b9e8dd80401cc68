import { DataTable } from "../../components/data-table";
import type { MarketFeed, PublicTrade } from "./market-feed";

const time = (ts: number) => new Date(ts).toLocaleTimeString([], { hour12: false });
const sideClass = (t: PublicTrade) => (t.taker_side === "buy" ? "up" : "down");

export function RecentTrades(props: { feed: MarketFeed }) {
  return (
    <section class="panel trades">
      <DataTable
        label="Recent trades"
        rows={props.feed.trades.value}
        rowKey={(t) => t.id}
        empty="No trades yet"
        columns={[
          { header: "Price", cell: (t) => t.price, class: sideClass },
          { header: "Quantity", cell: (t) => t.quantity },
          { header: "Time", cell: (t) => time(t.ts) },
        ]}
      />
    </section>
  );
}
