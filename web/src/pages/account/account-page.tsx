import { session } from "../../state/session";
import { Link } from "../../router";
import { ApiKeysCard } from "./cards/api-keys-card";
import { DepositCard } from "./cards/deposit-card";
import { PortfolioCard } from "./cards/portfolio-card";
import { SessionsCard } from "./cards/sessions-card";
import { WatchlistCard } from "./cards/watchlist-card";
import { WithdrawalsCard } from "./cards/withdrawals-card";

export function AccountPage() {
  const user = session.value?.user;
  if (!user) {
    return (
      <main class="page">
        <h1>Account</h1>
        <p>
          <Link href="/login?next=/account">Log in</Link> to see your account.
        </p>
      </main>
    );
  }
  return (
    <main class="page wide">
      <h1>Account</h1>
      <p class="hint">
        {user.first_name} {user.last_name} · {user.email} · email{" "}
        {user.email_verified ? "verified" : "not verified"} · KYC {user.kyc_status}
      </p>
      <div class="cards">
        <PortfolioCard />
        <WatchlistCard />
        <DepositCard />
        <WithdrawalsCard />
        <SessionsCard />
        <ApiKeysCard />
      </div>
    </main>
  );
}
