import { api } from "../../../api/client";
import { useLoad } from "../../../lib/use-load";

/** The assets the exchange holds (from the wallet list, which names every asset). */
export function AssetSelect(props: { id: string; value: string; onValue: (v: string) => void }) {
  const [wallets] = useLoad(() => api.GET("/api/v1/wallets"));
  const assets = wallets?.balances.map((b) => b.asset) ?? [];
  return (
    <div class="field">
      <label for={props.id}>Asset</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onValue(e.currentTarget.value)}>
        {assets.map((a) => (
          <option value={a}>{a}</option>
        ))}
      </select>
    </div>
  );
}
