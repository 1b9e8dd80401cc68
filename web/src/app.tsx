import { lazy, Suspense } from "preact/compat";
import { signOut } from "./api/auth";
import { Link, location$, navigate } from "./router";
import { session } from "./state/session";
import { TradePage } from "./pages/trade/trade-page";
import { LoginPage } from "./pages/account/login-page";
import { RegisterPage } from "./pages/account/register-page";
import { VerifyEmailPage } from "./pages/account/verify-email-page";

// The account pages and the admin console load on demand: the trading page's first load stays small.
const AccountPage = lazy(() => import("./pages/account/account-page").then((m) => m.AccountPage));
const AdminConsole = lazy(() => import("./pages/admin/admin-console").then((m) => m.AdminConsole));

const DEFAULT_MARKET = "BTC-USDT";

function Page() {
  const path = location$.value.path;
  const trade = /^\/trade\/([A-Z0-9]{2,10}-[A-Z0-9]{2,10})$/.exec(path);
  if (trade) return <TradePage symbol={trade[1]!} />;
  switch (path) {
    case "/login":
      return <LoginPage />;
    case "/register":
      return <RegisterPage />;
    case "/verify-email":
      return <VerifyEmailPage />;
    case "/account":
      return <AccountPage />;
    case "/admin":
      return <AdminConsole />;
    case "/":
    case "/trade":
      queueMicrotask(() => navigate(`/trade/${DEFAULT_MARKET}`, true));
      return null;
    default:
      return (
        <main class="page">
          <h1>Not found</h1>
          <p>
            There is no page at {path}. <Link href={`/trade/${DEFAULT_MARKET}`}>Go to trading</Link>.
          </p>
        </main>
      );
  }
}

function Header() {
  const user = session.value?.user;
  return (
    <header class="topbar">
      <Link href={`/trade/${DEFAULT_MARKET}`} class="brand">
        Pandora
      </Link>
      <nav aria-label="Main">
        <Link href={`/trade/${DEFAULT_MARKET}`}>Trade</Link>
        {user && <Link href="/account">Account</Link>}
        {user?.role === "admin" && <Link href="/admin">Admin</Link>}
        {user ? (
          <button type="button" class="link" onClick={() => void signOut().then(() => navigate("/login"))}>
            Log out
          </button>
        ) : (
          <>
            <Link href="/login">Log in</Link>
            <Link href="/register">Register</Link>
          </>
        )}
      </nav>
    </header>
  );
}

export function App() {
  return (
    <>
      <Header />
      <Suspense fallback={<main class="page">Loading…</main>}>
        <Page />
      </Suspense>
    </>
  );
}
