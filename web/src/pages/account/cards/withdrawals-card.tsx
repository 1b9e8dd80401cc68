import { useState } from "preact/hooks";
import { api, errorMessage } from "../../../api/client";
import { DataTable } from "../../../components/data-table";
import { Field, FormError } from "../../../components/field";
import { useLoad } from "../../../lib/use-load";
import { AssetSelect } from "./asset-select";

/** While an admin or the signer still has to act, the list re-reads itself (no push for withdrawals). */
const WAITING = new Set(["pending_approval", "approved"]);

export function WithdrawalsCard() {
  const [asset, setAsset] = useState("BTC");
  const [address, setAddress] = useState("");
  const [amount, setAmount] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [list, reload] = useLoad(
    () => api.GET("/api/v1/wallets/withdrawals", { params: { query: { limit: 20 } } }),
    [],
    (d) => (d.withdrawals.some((w) => WAITING.has(w.status)) ? 3_000 : undefined),
  );

  async function request(e: Event) {
    e.preventDefault();
    setDone(null);
    const { data, error: refusal } = await api.POST("/api/v1/wallets/withdrawals", {
      body: { asset, address, amount },
      params: { header: { "idempotency-key": crypto.randomUUID() } },
    });
    if (!data) {
      setError(errorMessage(refusal));
      return;
    }
    setError(null);
    setDone(
      `Withdrawal of ${data.withdrawal.amount} ${data.withdrawal.asset}: ${data.withdrawal.status.replace("_", " ")}`,
    );
    setAmount("");
    reload();
  }
  async function cancel(id: string) {
    const { error: refusal } = await api.POST("/api/v1/wallets/withdrawals/{id}/cancel", {
      params: { path: { id } },
    });
    setError(refusal ? errorMessage(refusal) : null);
    reload();
  }
  return (
    <section class="panel" aria-labelledby="withdraw-h">
      <h2 id="withdraw-h">Withdraw</h2>
      <form onSubmit={request} aria-label="Request a withdrawal">
        <AssetSelect id="withdraw-asset" value={asset} onValue={setAsset} />
        <Field label="Destination address" required value={address} onValue={setAddress} />
        <Field label="Amount" inputMode="decimal" required value={amount} onValue={setAmount} />
        <FormError message={error} testId="withdrawal-error" />
        {done && (
          <p role="status" class="ok">
            {done}
          </p>
        )}
        <button type="submit">Request withdrawal</button>
      </form>
      <DataTable
        label="Withdrawals"
        rows={list?.withdrawals ?? []}
        rowKey={(w) => w.id}
        empty="No withdrawals yet"
        columns={[
          { header: "Asset", cell: (w) => w.asset },
          { header: "Amount", cell: (w) => w.amount },
          { header: "Fee", cell: (w) => w.fee },
          { header: "Status", cell: (w) => w.status.replace("_", " ") },
          {
            header: "Actions",
            cell: (w) =>
              w.status === "pending_approval" || w.status === "approved" ? (
                <button type="button" class="small" onClick={() => void cancel(w.id)}>
                  Cancel withdrawal
                </button>
              ) : null,
          },
        ]}
      />
    </section>
  );
}
