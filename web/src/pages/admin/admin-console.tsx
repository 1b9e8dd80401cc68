import { useState } from "preact/hooks";
import { Link } from "../../router";
import { session } from "../../state/session";
import { AuditPanel } from "./audit-panel";
import { HealthPanel } from "./health-panel";
import { MarketsPanel } from "./markets-panel";
import { UsersPanel } from "./users-panel";
import { WithdrawalsPanel } from "./withdrawals-panel";

const TABS = [
  ["users", "Users and KYC", UsersPanel],
  ["withdrawals", "Withdrawals", WithdrawalsPanel],
  ["markets", "Markets", MarketsPanel],
  ["health", "Health and reconciliation", HealthPanel],
  ["audit", "Audit log", AuditPanel],
] as const;

/** The operators' console. The page hides itself from non-admins; the API enforces it (403). */
export function AdminConsole() {
  const [tab, setTab] = useState<(typeof TABS)[number][0]>("users");
  const user = session.value?.user;
  if (user?.role !== "admin") {
    return (
      <main class="page">
        <h1>Admin console</h1>
        <p>
          {user ? (
            "This console is for administrators."
          ) : (
            <Link href="/login?next=/admin">Log in as an administrator</Link>
          )}
        </p>
      </main>
    );
  }
  const Panel = TABS.find(([t]) => t === tab)![2];
  return (
    <main class="page wide">
      <h1>Admin console</h1>
      <div role="tablist" class="tabs" aria-label="Admin sections">
        {TABS.map(([t, label]) => (
          <button type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        <Panel />
      </div>
    </main>
  );
}
