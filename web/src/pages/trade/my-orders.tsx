import { useEffect, useState } from "preact/hooks";
import { api, errorMessage, type Schemas } from "../../api/client";
import { DataTable, type Column } from "../../components/data-table";
import { Field, FormError } from "../../components/field";
import type { Market } from "../../lib/order-rules";
import type { Balance } from "./market-feed";

type Order = Schemas["Order"];
type MyTrade = Schemas["MyTrade"];
type Tab = "open" | "history" | "trades" | "balances";

const when = (iso: string) => new Date(iso).toLocaleString([], { hour12: false });
const sideClass = (row: { side: string }) => (row.side === "buy" ? "up" : "down");

/** Time first (history); the open-orders table drops it. */
const orderColumns: Column<Order>[] = [
  { header: "Time", cell: (o) => when(o.created_at) },
  { header: "Side", cell: (o) => o.side, class: sideClass },
  { header: "Type", cell: (o) => o.type },
  { header: "Price", cell: (o) => o.price ?? o.stop_price ?? "market" },
  { header: "Quantity", cell: (o) => o.quantity ?? o.quote_quantity },
  { header: "Filled", cell: (o) => o.filled_quantity },
  { header: "Status", cell: (o) => o.status },
];

export function BalancesTable(props: { balances: Balance[] }) {
  return (
    <DataTable
      label="Balances"
      rows={props.balances}
      rowKey={(b) => b.asset}
      empty="No balances yet"
      rowProps={(b) => ({ "data-asset": b.asset })}
      columns={[
        { header: "Asset", cell: (b) => b.asset },
        { header: "Available", cell: (b) => b.available },
        { header: "Locked", cell: (b) => b.locked },
      ]}
    />
  );
}

/**
 * The signed-in user's side of the market: open orders (cancel, cancel all, amend), order and
 * trade history, balances. Re-read from REST whenever the socket reports an order or balance
 * change (`version`); balance frames follow settlement's commit, so the re-read is current.
 */
export function MyOrders(props: {
  market: Market;
  version: number;
  balances: Record<string, Balance>;
  onChanged: () => void;
}) {
  const m = props.market;
  const [tab, setTab] = useState<Tab>("open");
  const [open, setOpen] = useState<Order[]>([]);
  const [history, setHistory] = useState<Order[]>([]);
  const [trades, setTrades] = useState<MyTrade[]>([]);
  const [wallets, setWallets] = useState<Balance[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [amending, setAmending] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const timer = setTimeout(async () => {
      const market = m.symbol;
      const [o, h, t, w] = await Promise.all([
        api.GET("/api/v1/orders", { params: { query: { market, state: "open", limit: 50 } } }),
        api.GET("/api/v1/orders", { params: { query: { market, state: "closed", limit: 20 } } }),
        api.GET("/api/v1/trades", { params: { query: { market, limit: 20 } } }),
        api.GET("/api/v1/wallets"),
      ]);
      if (!live) return;
      if (o.data) setOpen(o.data.orders);
      if (h.data) setHistory(h.data.orders);
      if (t.data) setTrades(t.data.trades);
      if (w.data) setWallets(w.data.balances);
    }, 100); // one read for a burst of frames
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [m.symbol, props.version]);

  async function cancel(id: string) {
    setError(null);
    const { error: refusal } = await api.DELETE("/api/v1/orders/{id}", { params: { path: { id } } });
    if (refusal) setError(errorMessage(refusal));
    props.onChanged();
  }
  async function cancelAll() {
    setError(null);
    const { error: refusal } = await api.DELETE("/api/v1/orders", {
      params: { query: { market: m.symbol } },
    });
    if (refusal) setError(errorMessage(refusal));
    props.onChanged();
  }

  // Live socket values win over the REST read for this market's two assets.
  const balances = wallets.map((b) => props.balances[b.asset] ?? b);
  const tabs: [Tab, string][] = [
    ["open", `Open orders (${open.length})`],
    ["history", "Order history"],
    ["trades", "Trade history"],
    ["balances", "Balances"],
  ];
  return (
    <section class="panel my-orders" aria-label="My orders and balances">
      <div role="tablist" class="tabs">
        {tabs.map(([t, label]) => (
          <button type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {label}
          </button>
        ))}
      </div>
      <FormError message={error} />
      {tab === "open" && (
        <div role="tabpanel">
          <DataTable
            label="Open orders"
            caption={
              <>
                Open orders{" "}
                {open.length > 0 && (
                  <button type="button" class="small" onClick={() => void cancelAll()}>
                    Cancel all
                  </button>
                )}
              </>
            }
            rows={open}
            rowKey={(o) => o.id}
            empty="No open orders"
            rowProps={(o) => ({ "data-order-id": o.id })}
            columns={[
              ...orderColumns.slice(1),
              {
                header: "Actions",
                cell: (o) => (
                  <span class="actions">
                    <button
                      type="button"
                      class="small"
                      onClick={() => void cancel(o.id)}
                      aria-label={`Cancel order ${o.id}`}
                    >
                      Cancel
                    </button>
                    {o.type === "limit" && !o.oco_group_id && (
                      <button
                        type="button"
                        class="small"
                        onClick={() => setAmending(amending === o.id ? null : o.id)}
                      >
                        Amend
                      </button>
                    )}
                  </span>
                ),
              },
            ]}
          />
          {amending && (
            <AmendForm
              order={open.find((o) => o.id === amending)}
              onDone={() => {
                setAmending(null);
                props.onChanged();
              }}
            />
          )}
        </div>
      )}
      {tab === "history" && (
        <DataTable
          label="Order history"
          rows={history}
          rowKey={(o) => o.id}
          empty="No closed orders"
          columns={orderColumns}
        />
      )}
      {tab === "trades" && (
        <DataTable
          label="Trade history"
          rows={trades}
          rowKey={(t) => t.trade_id}
          empty="No trades yet"
          columns={[
            { header: "Time", cell: (t) => when(t.executed_at) },
            { header: "Side", cell: (t) => t.side, class: sideClass },
            { header: "Price", cell: (t) => t.price },
            { header: "Quantity", cell: (t) => t.quantity },
            { header: "Fee", cell: (t) => `${t.fee} ${t.fee_asset}` },
            { header: "Role", cell: (t) => t.liquidity },
          ]}
        />
      )}
      {tab === "balances" && <BalancesTable balances={balances} />}
    </section>
  );
}

function AmendForm(props: { order: Order | undefined; onDone: () => void }) {
  const o = props.order;
  const [price, setPrice] = useState(o?.price ?? "");
  const [quantity, setQuantity] = useState(o?.quantity ?? "");
  const [error, setError] = useState<string | null>(null);
  if (!o) return null;
  async function submit(e: Event) {
    e.preventDefault();
    const { error: refusal } = await api.PATCH("/api/v1/orders/{id}", {
      params: { path: { id: o!.id } },
      body: { ...(price !== o!.price ? { price } : {}), ...(quantity !== o!.quantity ? { quantity } : {}) },
    });
    if (refusal) setError(errorMessage(refusal));
    else props.onDone();
  }
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Amend order">
      <Field label="New price" inputMode="decimal" value={price} onValue={setPrice} />
      <Field label="New quantity" inputMode="decimal" value={quantity} onValue={setQuantity} />
      <FormError message={error} />
      <button type="submit">Save amendment</button>
    </form>
  );
}
