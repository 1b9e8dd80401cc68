import { useState } from "preact/hooks";
import { api, errorMessage, type Schemas } from "../../api/client";
import { Field, FormError } from "../../components/field";
import { multiply, trimZeros } from "../../lib/decimal";
import {
  notionalError,
  priceError,
  quantityError,
  totalError,
  type FieldErrors,
  type Market,
} from "../../lib/order-rules";
import { Link } from "../../router";
import { session } from "../../state/session";
import type { Balance } from "./market-feed";

type OrderType = "limit" | "market" | "stop" | "oco";
type Side = "buy" | "sell";
type PlaceOrder = Schemas["PlaceOrder"];

const TYPES: [OrderType, string][] = [
  ["limit", "Limit"],
  ["market", "Market"],
  ["stop", "Stop"],
  ["oco", "OCO"],
];

interface Values {
  price: string;
  stopPrice: string;
  stopLimitPrice: string;
  quantity: string;
  total: string;
}

/** The market's rules checked as the user types: the same checks, in the same units, as the API's. */
function validate(m: Market, type: OrderType, side: Side, v: Values): FieldErrors {
  const e: FieldErrors = {};
  const byTotal = type === "market" && side === "buy";
  if (type === "limit" || type === "oco") e.price = priceError(m, v.price);
  if (type === "stop" || type === "oco") e.stopPrice = priceError(m, v.stopPrice, "Stop price");
  if (type === "stop") e.stopLimitPrice = priceError(m, v.stopLimitPrice, "Limit price");
  if (type === "oco" && v.stopLimitPrice.trim() !== "")
    e.stopLimitPrice = priceError(m, v.stopLimitPrice, "Stop limit price");
  if (byTotal) e.total = totalError(m, v.total);
  else e.quantity = quantityError(m, v.quantity);
  const limitPrice = type === "stop" ? v.stopLimitPrice : v.price;
  const priceField = type === "stop" ? "stopLimitPrice" : "price";
  if ((type === "limit" || type === "stop" || type === "oco") && !e[priceField] && !e.quantity) {
    e.quantity = notionalError(m, limitPrice, v.quantity);
  }
  return e;
}

function body(m: Market, type: OrderType, side: Side, v: Values): PlaceOrder {
  const base = { market: m.symbol, side };
  switch (type) {
    case "limit":
      return { ...base, type: "limit", price: v.price, quantity: v.quantity };
    case "market":
      return side === "buy"
        ? { ...base, type: "market", quote_quantity: v.total }
        : { ...base, type: "market", quantity: v.quantity };
    case "stop":
      return {
        ...base,
        type: "stop_limit",
        stop_price: v.stopPrice,
        price: v.stopLimitPrice,
        quantity: v.quantity,
      };
    case "oco":
      return {
        ...base,
        type: "oco",
        price: v.price,
        stop_price: v.stopPrice,
        quantity: v.quantity,
        ...(v.stopLimitPrice.trim() ? { stop_limit_price: v.stopLimitPrice } : {}),
      };
  }
}

export function OrderForm(props: {
  market: Market;
  balances: Record<string, Balance>;
  price: string;
  onPrice: (p: string) => void;
  onPlaced: () => void;
}) {
  const m = props.market;
  const [type, setType] = useState<OrderType>("limit");
  const [side, setSide] = useState<Side>("buy");
  const [v, setV] = useState<Omit<Values, "price">>({
    stopPrice: "",
    stopLimitPrice: "",
    quantity: "",
    total: "",
  });
  const [touched, setTouched] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [placed, setPlaced] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const values: Values = { ...v, price: props.price };
  const errors = validate(m, type, side, values);
  // Errors show for a field once it has a value, and for every field after a submit attempt.
  const shown = (k: keyof Values) =>
    touched || values[k] !== "" ? errors[k as keyof FieldErrors] : undefined;
  const set = (k: keyof Omit<Values, "price">) => (value: string) => {
    setV({ ...v, [k]: value });
    setRefusal(null);
  };
  const priceOfValue = type === "stop" ? values.stopLimitPrice : values.price;
  const total =
    type !== "market" && !errors.quantity && priceOfValue && !errors.price
      ? multiply(priceOfValue, values.quantity, m.price_decimals)
      : null;
  const spend = side === "buy" ? m.quote_asset : m.base_asset;
  const available = props.balances[spend]?.available;
  const action = `${side === "buy" ? "Buy" : "Sell"} ${m.base_asset}`;

  async function submit(e: Event) {
    e.preventDefault();
    setTouched(true);
    setPlaced(null);
    setRefusal(null);
    if (Object.values(errors).some(Boolean)) return;
    setBusy(true);
    const { data, error } = await api.POST("/api/v1/orders", {
      body: body(m, type, side, values),
      params: { header: { "idempotency-key": crypto.randomUUID() } },
    });
    setBusy(false);
    if (!data) {
      setRefusal(errorMessage(error));
      return;
    }
    setPlaced(
      `${action}: order ${data.order.status}${data.fills?.length ? `, ${data.fills.length} fill(s)` : ""}`,
    );
    setV({ ...v, quantity: "", total: "" });
    setTouched(false);
    props.onPlaced();
  }

  if (!session.value) {
    return (
      <section class="panel order-form" aria-label="Place an order">
        <h2>Place an order</h2>
        <p>
          <Link href="/login">Log in</Link> or <Link href="/register">register</Link> to trade.
        </p>
      </section>
    );
  }
  return (
    <section class="panel order-form" aria-label="Place an order">
      <h2>Place an order</h2>
      <div role="group" aria-label="Order type" class="segmented">
        {TYPES.map(([t, label]) => (
          <button type="button" aria-pressed={t === type} onClick={() => setType(t)}>
            {label}
          </button>
        ))}
      </div>
      <div role="group" aria-label="Side" class="segmented sides">
        <button type="button" class="buy" aria-pressed={side === "buy"} onClick={() => setSide("buy")}>
          Buy
        </button>
        <button type="button" class="sell" aria-pressed={side === "sell"} onClick={() => setSide("sell")}>
          Sell
        </button>
      </div>
      <form onSubmit={submit} aria-label={`${action} order`} noValidate>
        <p class="available" data-testid="available">
          Available: {available ?? "–"} {spend}
        </p>
        {(type === "stop" || type === "oco") && (
          <Field
            label="Stop price"
            inputMode="decimal"
            value={v.stopPrice}
            onValue={set("stopPrice")}
            error={shown("stopPrice")}
          />
        )}
        {(type === "limit" || type === "oco") && (
          <Field
            label="Price"
            inputMode="decimal"
            value={props.price}
            onValue={(p) => {
              props.onPrice(p);
              setRefusal(null);
            }}
            error={shown("price")}
            hint={`Tick ${trimZeros(m.tick_size)} ${m.quote_asset}`}
          />
        )}
        {(type === "stop" || type === "oco") && (
          <Field
            label={type === "stop" ? "Limit price" : "Stop limit price"}
            inputMode="decimal"
            value={v.stopLimitPrice}
            onValue={set("stopLimitPrice")}
            error={shown("stopLimitPrice")}
            hint={type === "oco" ? "Optional: empty for a stop-market sell" : undefined}
          />
        )}
        {type === "market" && side === "buy" ? (
          <Field
            label={`Total (${m.quote_asset})`}
            inputMode="decimal"
            value={v.total}
            onValue={set("total")}
            error={shown("total")}
          />
        ) : (
          <Field
            label="Quantity"
            inputMode="decimal"
            value={v.quantity}
            onValue={set("quantity")}
            error={shown("quantity")}
            hint={`Lot ${trimZeros(m.lot_size)} ${m.base_asset}, minimum order value ${trimZeros(m.min_notional)} ${m.quote_asset}`}
          />
        )}
        {total && (
          <p class="total">
            Total: {total} {m.quote_asset}
          </p>
        )}
        <FormError message={refusal} testId="order-error" />
        {placed && (
          <p role="status" class="ok">
            {placed}
          </p>
        )}
        <button type="submit" class={side} disabled={busy || m.status !== "trading"}>
          {action}
        </button>
        {m.status !== "trading" && <p class="hint">This market is {m.status}: new orders are refused.</p>}
      </form>
    </section>
  );
}
