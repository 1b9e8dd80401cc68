import { useState } from "preact/hooks";
import { api, errorCode, errorMessage } from "../../api/client";
import { signIn } from "../../api/auth";
import { Field, FormError } from "../../components/field";
import { Link, navigate, queryParam } from "../../router";

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  // Shown once the API answers TWO_FACTOR_REQUIRED for this account.
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    // `totp_code` is sent only after TWO_FACTOR_REQUIRED (2FA is being added to the API; its
    // field is not in the generated types yet).
    const body = { email, password, ...(needsCode ? { totp_code: code } : {}) } as {
      email: string;
      password: string;
    };
    const { data, error: refusal } = await api.POST("/api/v1/auth/login", { body });
    setBusy(false);
    if (data) {
      signIn(data);
      navigate(queryParam("next") ?? "/trade/BTC-USDT");
      return;
    }
    if (errorCode(refusal) === "TWO_FACTOR_REQUIRED") setNeedsCode(true);
    setError(errorMessage(refusal));
  }

  return (
    <main class="page narrow">
      <h1>Log in</h1>
      <form onSubmit={submit} aria-label="Log in">
        <Field label="Email" type="email" autocomplete="email" required value={email} onValue={setEmail} />
        <Field
          label="Password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        {needsCode && (
          <Field
            label="Two-factor code"
            inputMode="numeric"
            autocomplete="one-time-code"
            required
            value={code}
            onValue={setCode}
          />
        )}
        <FormError message={error} />
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
      <p>
        No account yet? <Link href="/register">Register</Link>
      </p>
    </main>
  );
}
