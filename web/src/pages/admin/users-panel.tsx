import { useState } from "preact/hooks";
import { api, errorMessage, type Schemas } from "../../api/client";
import { DataTable, type Column } from "../../components/data-table";
import { Field, FormError } from "../../components/field";
import { useLoad } from "../../lib/use-load";

type User = Schemas["User"];

const userColumns: Column<User>[] = [
  { header: "Email", cell: (u) => u.email },
  { header: "Name", cell: (u) => `${u.first_name} ${u.last_name}` },
  { header: "Role", cell: (u) => u.role },
  { header: "Email verified", cell: (u) => (u.email_verified ? "yes" : "no") },
  { header: "KYC", cell: (u) => u.kyc_status },
];

export function UsersPanel() {
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [users, reloadUsers] = useLoad(
    () =>
      api.GET("/api/v1/admin/users", {
        params: { query: { ...(search ? { q: search } : {}), page_size: 50 } },
      }),
    [search],
  );
  const [queue, reloadQueue] = useLoad(() =>
    api.GET("/api/v1/admin/users", { params: { query: { kyc_status: "pending", page_size: 50 } } }),
  );

  async function decide(u: User, status: "verified" | "rejected") {
    const { error: refusal } = await api.PATCH("/api/v1/admin/users/{id}/kyc", {
      params: { path: { id: u.id } },
      body: { status, ...(status === "rejected" ? { reason: reason || null } : {}) },
    });
    setError(refusal ? errorMessage(refusal) : null);
    reloadQueue();
    reloadUsers();
  }
  return (
    <div class="cards">
      <section class="panel" aria-labelledby="kyc-h">
        <h2 id="kyc-h">KYC queue</h2>
        <Field label="Rejection reason" value={reason} onValue={setReason} hint="Required to reject" />
        <FormError message={error} />
        <DataTable
          label="KYC queue"
          rows={queue?.users ?? []}
          rowKey={(u) => u.id}
          empty="Nobody is waiting"
          columns={[
            ...userColumns.slice(0, 2),
            {
              header: "Decision",
              cell: (u) => (
                <span class="actions">
                  <button
                    type="button"
                    class="small buy"
                    onClick={() => void decide(u, "verified")}
                    aria-label={`Approve KYC of ${u.email}`}
                  >
                    Approve
                  </button>
                  <button
                    type="button"
                    class="small sell"
                    onClick={() => void decide(u, "rejected")}
                    aria-label={`Reject KYC of ${u.email}`}
                  >
                    Reject
                  </button>
                </span>
              ),
            },
          ]}
        />
      </section>
      <section class="panel" aria-labelledby="users-h">
        <h2 id="users-h">Users</h2>
        <form
          class="inline-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setSearch(q.trim());
          }}
        >
          <Field label="Search users" type="search" value={q} onValue={setQ} placeholder="email or name" />
          <button type="submit">Search</button>
        </form>
        <p class="hint">{users ? `${users.total} user(s)` : "…"}</p>
        <DataTable
          label="Users"
          rows={users?.users ?? []}
          rowKey={(u) => u.id}
          empty="No users match"
          columns={userColumns}
        />
      </section>
    </div>
  );
}
