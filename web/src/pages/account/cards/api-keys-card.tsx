import { useState } from "preact/hooks";
import { api, errorMessage } from "../../../api/client";
import { DataTable } from "../../../components/data-table";
import { Field, FormError } from "../../../components/field";
import { useLoad } from "../../../lib/use-load";

const PERMISSIONS = ["read", "trade", "withdraw"] as const;
type Permission = (typeof PERMISSIONS)[number];

export function ApiKeysCard() {
  const [list, reload] = useLoad(() => api.GET("/api/v1/users/me/api-keys"));
  const [label, setLabel] = useState("");
  const [permissions, setPermissions] = useState<Permission[]>(["read"]);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [ips, setIps] = useState("");
  const [secret, setSecret] = useState<{ key: string; secret: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    const { data, error: refusal } = await api.POST("/api/v1/users/me/api-keys", {
      body: {
        label,
        permissions,
        current_password: password,
        ...(code ? { totp_code: code } : {}),
        ...(ips.trim() ? { ip_allowlist: ips.split(/[\s,]+/).filter(Boolean) } : {}),
      },
    });
    setError(refusal ? errorMessage(refusal) : null);
    if (data) {
      setSecret({ key: data.api_key.key, secret: data.api_key.secret });
      setLabel("");
      setPassword("");
      setCode("");
      reload();
    }
  }
  async function remove(id: string) {
    await api.DELETE("/api/v1/users/me/api-keys/{id}", { params: { path: { id } } });
    reload();
  }
  const toggle = (p: Permission) =>
    setPermissions(permissions.includes(p) ? permissions.filter((x) => x !== p) : [...permissions, p]);
  return (
    <section class="panel" aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <form onSubmit={create} aria-label="Create an API key">
        <Field label="Label" required value={label} onValue={setLabel} />
        <fieldset>
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => (
            <label class="check">
              <input type="checkbox" checked={permissions.includes(p)} onChange={() => toggle(p)} /> {p}
            </label>
          ))}
        </fieldset>
        <Field
          label="IP allow-list"
          value={ips}
          onValue={setIps}
          hint="Addresses separated by commas; required for withdraw"
        />
        <Field
          label="Current password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <Field
          label="2FA code"
          inputMode="numeric"
          autocomplete="one-time-code"
          value={code}
          onValue={setCode}
          hint="When two-factor authentication is on"
        />
        <FormError message={error} />
        <button type="submit">Create API key</button>
      </form>
      {secret && (
        <div role="status">
          <p>Copy the secret now: it is shown only once.</p>
          <p>
            Key: <code class="secret">{secret.key}</code>
          </p>
          <p>
            Secret: <code class="secret">{secret.secret}</code>
          </p>
          <button type="button" class="small" onClick={() => setSecret(null)}>
            I have saved it
          </button>
        </div>
      )}
      <DataTable
        label="API keys"
        rows={list?.api_keys ?? []}
        rowKey={(k) => k.id}
        empty="No API keys"
        columns={[
          { header: "Label", cell: (k) => k.label },
          { header: "Key", cell: (k) => k.key },
          { header: "Permissions", cell: (k) => k.permissions.join(", ") },
          {
            header: "Actions",
            cell: (k) => (
              <button
                type="button"
                class="small"
                onClick={() => void remove(k.id)}
                aria-label={`Delete API key ${k.label}`}
              >
                Delete
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}
