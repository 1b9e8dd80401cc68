import { useState } from "preact/hooks";
import { api, errorMessage } from "../../../api/client";
import { DataTable } from "../../../components/data-table";
import { FormError } from "../../../components/field";
import { useLoad } from "../../../lib/use-load";
import { AssetSelect } from "./asset-select";

export function DepositCard() {
  const [asset, setAsset] = useState("BTC");
  const [address, setAddress] = useState<{ asset: string; address: string; chain: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [deposits] = useLoad(() => api.GET("/api/v1/wallets/deposits", { params: { query: { limit: 20 } } }));

  async function show(e: Event) {
    e.preventDefault();
    const { data, error: refusal } = await api.GET("/api/v1/wallets/{asset}/address", {
      params: { path: { asset } },
    });
    setAddress(data ?? null);
    setError(refusal ? errorMessage(refusal) : null);
  }
  return (
    <section class="panel" aria-labelledby="deposit-h">
      <h2 id="deposit-h">Deposit</h2>
      <form class="inline-form" onSubmit={show} aria-label="Deposit address">
        <AssetSelect id="deposit-asset" value={asset} onValue={setAsset} />
        <button type="submit">Show deposit address</button>
      </form>
      <FormError message={error} />
      {address && (
        <p>
          Send only {address.asset} ({address.chain}) to:
          <br />
          <code class="secret" data-testid="deposit-address">
            {address.address}
          </code>
        </p>
      )}
      <DataTable
        label="Deposits"
        rows={deposits?.deposits ?? []}
        rowKey={(d) => d.id}
        empty="No deposits yet"
        columns={[
          { header: "Asset", cell: (d) => d.asset },
          { header: "Amount", cell: (d) => d.amount },
          { header: "Confirmations", cell: (d) => d.confirmations },
          { header: "Status", cell: (d) => d.status },
        ]}
      />
    </section>
  );
}
