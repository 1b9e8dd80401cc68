import { MatchingEngine, type EngineEvent, type PlaceOrder } from "../../../durable-objects/engine";

/** Parses a `|`-separated table (header row included) into trimmed cells, ignoring blank lines. */
export function table(text: string): string[][] {
  return text
    .trim()
    .split("\n")
    .map((line) => line.split("|").map((cell) => cell.trim()));
}

/**
 * The book as a table, asks above bids, highest price first, like a trading screen.
 * Each order is `#id:shown`, plus `+hidden` for an iceberg's undisplayed quantity.
 */
export function bookTable(engine: MatchingEngine): string[][] {
  const rows = [["side", "price", "orders"]];
  const { bids, asks } = engine.depth(1000);
  const orders = (side: "buy" | "sell", price: number): string =>
    engine
      .levelOrders(side, price)
      .map((id) => {
        const o = engine.getOrder(id)!;
        const hidden = o.remaining - o.visible;
        return `#${id}:${o.visible}${hidden > 0 ? `+${hidden}` : ""}`;
      })
      .join(" ");
  for (const [price] of [...asks].reverse()) rows.push(["ask", String(price), orders("sell", price)]);
  for (const [price] of bids) rows.push(["bid", String(price), orders("buy", price)]);
  return rows;
}

export function tradesTable(events: EngineEvent[]): string[][] {
  const rows = [["taker", "maker", "price", "qty"]];
  for (const e of events) {
    if (e.type === "trade")
      rows.push([`#${e.takerOrderId}`, `#${e.makerOrderId}`, String(e.price), String(e.quantity)]);
  }
  return rows;
}

/** Orders finished by the events: id, reason, filled, remaining. */
export function doneTable(events: EngineEvent[]): string[][] {
  const rows = [["order", "reason", "filled", "remaining"]];
  for (const e of events) {
    if (e.type === "done") rows.push([`#${e.orderId}`, e.reason, String(e.filled), String(e.remaining)]);
  }
  return rows;
}

/**
 * An engine holding the resting limit orders of a table with columns
 * `side | id | user | price | qty` (optional `peak` for icebergs); its events are cleared.
 */
export function engineWith(text: string, engine = new MatchingEngine()): MatchingEngine {
  const [header, ...rows] = table(text);
  for (const row of rows) {
    const cell = (name: string): string => row[header!.indexOf(name)] ?? "";
    const order: PlaceOrder = {
      orderId: Number(cell("id")),
      userId: Number(cell("user")),
      side: cell("side") === "buy" ? "buy" : "sell",
      type: "limit",
      price: Number(cell("price")),
      quantity: Number(cell("qty")),
    };
    if (cell("peak") !== "") order.visibleQuantity = Number(cell("peak"));
    if (engine.place(order) !== 0) throw new Error(`seed order rejected: ${row.join(" | ")}`);
  }
  engine.events.clear();
  return engine;
}

/** Applies `run` and returns (and clears) the events it produced. */
export function eventsOf(engine: MatchingEngine, run: (engine: MatchingEngine) => unknown): EngineEvent[] {
  engine.events.clear();
  run(engine);
  const events = engine.events.toArray();
  engine.events.clear();
  return events;
}
