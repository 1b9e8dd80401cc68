import { useState } from "preact/hooks";
import { api, errorMessage, type Schemas } from "../../api/client";
import { DataTable } from "../../components/data-table";
import { Field, FormError } from "../../components/field";
import { useLoad } from "../../lib/use-load";

type Market = Schemas["Market"];
type Status = Market["status"];

const SIZE_FIELDS = [
  ["tick_size", "Tick size"],
  ["lot_size", "Lot size"],
  ["min_quantity", "Minimum quantity"],
  ["max_quantity", "Maximum quantity"],
  ["min_notional", "Minimum notional"],
] as const;
type SizeField = (typeof SIZE_FIELDS)[number][0];
type Rules = Record<SizeField | "maker_fee_bps" | "taker_fee_bps", string>;

const rulesOf = (m?: Market): Rules => ({
  tick_size: m?.tick_size ?? "",
  lot_size: m?.lot_size ?? "",
  min_quantity: m?.min_quantity ?? "",
  max_quantity: m?.max_quantity ?? "",
  min_notional: m?.min_notional ?? "",
  maker_fee_bps: String(m?.maker_fee_bps ?? 10),
  taker_fee_bps: String(m?.taker_fee_bps ?? 20),
});

/** The rule fields of both forms (edit and create). */
function RuleFields(props: { rules: Rules; onRules: (r: Rules) => void }) {
  const set = (k: keyof Rules) => (v: string) => props.onRules({ ...props.rules, [k]: v });
  return (
    <>
      {SIZE_FIELDS.map(([k, label]) => (
        <Field label={label} inputMode="decimal" value={props.rules[k]} onValue={set(k)} />
      ))}
      <Field
        label="Maker fee (bps)"
        inputMode="numeric"
        value={props.rules.maker_fee_bps}
        onValue={set("maker_fee_bps")}
      />
      <Field
        label="Taker fee (bps)"
        inputMode="numeric"
        value={props.rules.taker_fee_bps}
        onValue={set("taker_fee_bps")}
      />
    </>
  );
}

const fees = (r: Rules) => ({
  maker_fee_bps: Number(r.maker_fee_bps),
  taker_fee_bps: Number(r.taker_fee_bps),
});

export function MarketsPanel() {
  const [list, reload] = useLoad(() => api.GET("/api/v1/markets"));
  const [editing, setEditing] = useState<string | null>(null);
  const [rules, setRules] = useState<Rules>(rulesOf());
  const [created, setCreated] = useState({ symbol: "", base_asset: "", quote_asset: "" });
  const [newRules, setNewRules] = useState<Rules>(rulesOf());
  const [error, setError] = useState<string | null>(null);

  const done = (refusal: unknown) => {
    setError(refusal ? errorMessage(refusal) : null);
    reload();
  };
  async function setStatus(m: Market, status: Status) {
    const { error: refusal } = await api.PATCH("/api/v1/admin/markets/{symbol}", {
      params: { path: { symbol: m.symbol } },
      body: { status },
    });
    done(refusal);
  }
  async function saveRules(e: Event) {
    e.preventDefault();
    const before = rulesOf(list?.markets.find((m) => m.symbol === editing));
    // Only what changed: tick and lot can change only while the book is empty.
    const sizes = Object.fromEntries(
      SIZE_FIELDS.filter(([k]) => rules[k] !== before[k]).map(([k]) => [k, rules[k]]),
    );
    const { error: refusal } = await api.PATCH("/api/v1/admin/markets/{symbol}", {
      params: { path: { symbol: editing! } },
      body: { ...sizes, ...fees(rules) },
    });
    if (!refusal) setEditing(null);
    done(refusal);
  }
  async function create(e: Event) {
    e.preventDefault();
    const { maker_fee_bps: _maker, taker_fee_bps: _taker, ...sizes } = newRules;
    const { error: refusal } = await api.POST("/api/v1/admin/markets", {
      body: { ...created, ...sizes, ...fees(newRules) },
    });
    done(refusal);
  }
  const statusButton = (m: Market, status: Status, label: string) =>
    m.status === status ? null : (
      <button
        type="button"
        class="small"
        onClick={() => void setStatus(m, status)}
        aria-label={`${label} ${m.symbol}`}
      >
        {label}
      </button>
    );
  return (
    <div class="cards">
      <section class="panel" aria-labelledby="markets-h">
        <h2 id="markets-h">Markets</h2>
        <FormError message={error} />
        <DataTable
          label="Markets"
          rows={list?.markets ?? []}
          rowKey={(m) => m.symbol}
          columns={[
            { header: "Symbol", cell: (m) => m.symbol },
            { header: "Status", cell: (m) => m.status },
            { header: "Tick", cell: (m) => m.tick_size },
            { header: "Lot", cell: (m) => m.lot_size },
            { header: "Min notional", cell: (m) => m.min_notional },
            { header: "Fees (maker/taker bps)", cell: (m) => `${m.maker_fee_bps}/${m.taker_fee_bps}` },
            {
              header: "Actions",
              cell: (m) => (
                <span class="actions">
                  {statusButton(m, "halted", "Halt")}
                  {statusButton(m, "cancel-only", "Cancel-only")}
                  {statusButton(m, "trading", "Resume trading")}
                  <button
                    type="button"
                    class="small"
                    onClick={() => {
                      setEditing(m.symbol);
                      setRules(rulesOf(m));
                    }}
                  >
                    Edit rules
                  </button>
                </span>
              ),
            },
          ]}
        />
        {editing && (
          <form onSubmit={saveRules} aria-label={`Rules of ${editing}`}>
            <h3>Rules of {editing}</h3>
            <RuleFields rules={rules} onRules={setRules} />
            <button type="submit">Save rules</button>
          </form>
        )}
      </section>
      <section class="panel" aria-labelledby="new-market-h">
        <h2 id="new-market-h">New market</h2>
        <form onSubmit={create} aria-label="Create a market">
          <Field
            label="Symbol"
            value={created.symbol}
            onValue={(v) => setCreated({ ...created, symbol: v.toUpperCase() })}
            placeholder="SOL-USDT"
          />
          <Field
            label="Base asset"
            value={created.base_asset}
            onValue={(v) => setCreated({ ...created, base_asset: v.toUpperCase() })}
          />
          <Field
            label="Quote asset"
            value={created.quote_asset}
            onValue={(v) => setCreated({ ...created, quote_asset: v.toUpperCase() })}
          />
          <RuleFields rules={newRules} onRules={setNewRules} />
          <button type="submit">Create market</button>
        </form>
      </section>
    </div>
  );
}
