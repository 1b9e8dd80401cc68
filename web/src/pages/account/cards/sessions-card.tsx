import { api } from "../../../api/client";
import { signOut } from "../../../api/auth";
import { DataTable } from "../../../components/data-table";
import { useLoad } from "../../../lib/use-load";
import { navigate } from "../../../router";

const when = (iso: string) => new Date(iso).toLocaleString([], { hour12: false });

export function SessionsCard() {
  const [list, reload] = useLoad(() => api.GET("/api/v1/users/me/sessions"));
  async function revoke(id: string) {
    await api.DELETE("/api/v1/users/me/sessions/{id}", { params: { path: { id } } });
    reload();
  }
  async function everywhere() {
    await api.POST("/api/v1/users/me/logout-all");
    await signOut();
    navigate("/login");
  }
  return (
    <section class="panel" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      <DataTable
        label="Sessions"
        rows={list?.sessions ?? []}
        rowKey={(s) => s.id}
        columns={[
          {
            header: "Device",
            cell: (s) =>
              `${s.device_label ?? s.user_agent?.slice(0, 40) ?? "unknown"}${s.current ? " (this one)" : ""}`,
          },
          { header: "IP", cell: (s) => s.ip_address ?? "–" },
          { header: "Last used", cell: (s) => when(s.last_used_at) },
          {
            header: "Actions",
            cell: (s) =>
              s.current ? null : (
                <button type="button" class="small" onClick={() => void revoke(s.id)}>
                  Revoke
                </button>
              ),
          },
        ]}
      />
      <button type="button" onClick={() => void everywhere()}>
        Log out everywhere
      </button>
    </section>
  );
}
