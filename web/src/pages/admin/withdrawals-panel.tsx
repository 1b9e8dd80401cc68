import { useState } from "preact/hooks";
import { api, errorMessage, type Schemas } from "../../api/client";
import { DataTable } from "../../components/data-table";
import { Field, FormError } from "../../components/field";
import { useLoad } from "../../lib/use-load";

type Withdrawal = Schemas["AdminWithdrawal"];
type Status = NonNullable<Withdrawal["status"]>;
const FILTERS: Status[] = ["pending_approval", "approved", "sent", "completed", "rejected", "cancelled"];

export function WithdrawalsPanel() {
  const [status, setStatus] = useState<Status>("pending_approval");
  const [reason, setReason] = useState("");
  const [txHash, setTxHash] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [list, reload] = useLoad(
    () => api.GET("/api/v1/admin/withdrawals", { params: { query: { status, limit: 50 } } }),
    [status],
  );

  async function act(w: Withdrawal, action: "approve" | "reject" | "sent" | "complete") {
    const path = { params: { path: { id: w.id } } };
    const result =
      action === "approve"
        ? await api.POST("/api/v1/admin/withdrawals/{id}/approve", path)
        : action === "reject"
          ? await api.POST("/api/v1/admin/withdrawals/{id}/reject", { ...path, body: { reason } })
          : action === "sent"
            ? await api.POST("/api/v1/admin/withdrawals/{id}/sent", {
                ...path,
                body: { tx_hash: txHash.trim() },
              })
            : await api.POST("/api/v1/admin/withdrawals/{id}/complete", path);
    setError(result.error ? errorMessage(result.error) : null);
    reload();
  }
  const button = (w: Withdrawal, action: Parameters<typeof act>[1], label: string) => (
    <button
      type="button"
      class="small"
      onClick={() => void act(w, action)}
      aria-label={`${label} withdrawal ${w.id}`}
    >
      {label}
    </button>
  );
  return (
    <section class="panel" aria-labelledby="wd-h">
      <h2 id="wd-h">Withdrawals</h2>
      <div class="inline-form">
        <div class="field">
          <label for="wd-status">Status</label>
          <select id="wd-status" value={status} onChange={(e) => setStatus(e.currentTarget.value as Status)}>
            {FILTERS.map((s) => (
              <option value={s}>{s.replace("_", " ")}</option>
            ))}
          </select>
        </div>
        <Field label="Rejection reason" value={reason} onValue={setReason} />
        <Field label="Transaction hash" value={txHash} onValue={setTxHash} hint="For Mark sent" />
      </div>
      <FormError message={error} />
      <DataTable
        label="Withdrawals"
        rows={list?.withdrawals ?? []}
        rowKey={(w) => w.id}
        empty="None in this state"
        columns={[
          { header: "User", cell: (w) => w.user_id.slice(0, 8) },
          { header: "Asset", cell: (w) => w.asset },
          { header: "Amount", cell: (w) => w.amount },
          { header: "Address", cell: (w) => w.address },
          { header: "Status", cell: (w) => w.status.replace("_", " ") },
          {
            header: "Actions",
            cell: (w) => (
              <span class="actions">
                {w.status === "pending_approval" && button(w, "approve", "Approve")}
                {(w.status === "pending_approval" || w.status === "approved") &&
                  button(w, "reject", "Reject")}
                {w.status === "approved" && button(w, "sent", "Mark sent")}
                {w.status === "sent" && button(w, "complete", "Mark completed")}
              </span>
            ),
          },
        ]}
      />
    </section>
  );
}
