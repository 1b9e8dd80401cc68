import { useState } from "preact/hooks";
import { api, errorMessage } from "../../api/client";
import { DataTable } from "../../components/data-table";
import { FormError } from "../../components/field";
import { useLoad } from "../../lib/use-load";

const reconcile = () => api.GET("/api/v1/admin/reconciliation");
type Report = NonNullable<Awaited<ReturnType<typeof reconcile>>["data"]>;

export function HealthPanel() {
  const [ready] = useLoad(async () => {
    const res = await fetch("/ready");
    return { data: { status: res.status, body: (await res.json()) as unknown } };
  });
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run() {
    setBusy(true);
    const { data, error: refusal } = await reconcile();
    setBusy(false);
    setReport(data ?? null);
    setError(refusal ? errorMessage(refusal) : null);
  }
  return (
    <div class="cards">
      <section class="panel" aria-labelledby="ready-h">
        <h2 id="ready-h">Health</h2>
        <p role="status">
          {ready
            ? ready.status === 200
              ? "Ready: Postgres and Redis answer"
              : `Not ready (${ready.status})`
            : "Checking…"}
        </p>
        {ready && <pre class="secret">{JSON.stringify(ready.body, null, 2)}</pre>}
      </section>
      <section class="panel" aria-labelledby="rec-h">
        <h2 id="rec-h">Reconciliation</h2>
        <button type="button" onClick={() => void run()} disabled={busy}>
          {busy ? "Reconciling…" : "Run reconciliation"}
        </button>
        <FormError message={error} />
        {report && (
          <>
            <p role="status" class={report.ok ? "ok" : "field-error"}>
              {report.ok ? "Clean" : `${report.mismatches.length} mismatch(es)`}: {report.checks.join(", ")}{" "}
              checked at {new Date(report.checked_at).toLocaleTimeString([], { hour12: false })}
            </p>
            <DataTable
              label="Ledger sums per asset"
              rows={report.assets}
              rowKey={(a) => a.asset}
              columns={[
                { header: "Asset", cell: (a) => a.asset },
                { header: "Sum of postings", cell: (a) => a.sum },
              ]}
            />
            {report.mismatches.length > 0 && (
              <pre class="secret">{JSON.stringify(report.mismatches, null, 2)}</pre>
            )}
          </>
        )}
      </section>
    </div>
  );
}
