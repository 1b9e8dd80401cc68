import { useState } from "preact/hooks";
import { api } from "../../api/client";
import { DataTable } from "../../components/data-table";
import { Field } from "../../components/field";
import { useLoad } from "../../lib/use-load";

export function AuditPanel() {
  const [action, setAction] = useState("");
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(1);
  const [log] = useLoad(
    () =>
      api.GET("/api/v1/admin/audit-logs", {
        params: { query: { page, page_size: 50, ...(filter ? { action: filter } : {}) } },
      }),
    [page, filter],
  );
  const pages = log ? Math.max(1, Math.ceil(log.total / log.page_size)) : 1;
  return (
    <section class="panel" aria-labelledby="audit-h">
      <h2 id="audit-h">Audit log</h2>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setFilter(action.trim());
        }}
      >
        <Field label="Action" value={action} onValue={setAction} placeholder="e.g. withdrawal.approved" />
        <button type="submit">Filter</button>
      </form>
      <DataTable
        label="Audit log"
        rows={log?.entries ?? []}
        rowKey={(e) => e.id}
        empty="No entries"
        columns={[
          { header: "When", cell: (e) => new Date(e.occurred_at).toLocaleString([], { hour12: false }) },
          { header: "Action", cell: (e) => e.action },
          { header: "Actor", cell: (e) => `${e.actor_type} ${e.actor_id?.slice(0, 8) ?? ""}` },
          { header: "Resource", cell: (e) => `${e.resource_type} ${e.resource_id?.slice(0, 12) ?? ""}` },
          { header: "IP", cell: (e) => e.ip_address ?? "–" },
        ]}
      />
      <div class="inline-form">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Previous page
        </button>
        <span>
          Page {page} of {pages}
        </span>
        <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
          Next page
        </button>
      </div>
    </section>
  );
}
