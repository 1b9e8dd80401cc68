import { useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "../../api/client";
import { Field, FormError } from "../../components/field";
import { Link, queryParam } from "../../router";

/** The link in the verification email lands here with ?token=…; the token can also be pasted. */
export function VerifyEmailPage() {
  const [token, setToken] = useState(queryParam("token") ?? "");
  const [error, setError] = useState<string | null>(null);
  const [verified, setVerified] = useState(false);

  async function verify(t: string) {
    setError(null);
    const { data, error: refusal } = await api.POST("/api/v1/auth/verify-email", { body: { token: t } });
    if (data) setVerified(true);
    else setError(errorMessage(refusal));
  }
  useEffect(() => {
    const fromLink = queryParam("token");
    if (fromLink) void verify(fromLink);
  }, []);

  return (
    <main class="page narrow">
      <h1>Verify your email</h1>
      {verified ? (
        <p role="status">
          Email verified. <Link href="/login">Log in</Link>
        </p>
      ) : (
        <form
          aria-label="Verify email"
          onSubmit={(e) => {
            e.preventDefault();
            void verify(token);
          }}
        >
          <Field label="Verification token" required value={token} onValue={setToken} />
          <FormError message={error} />
          <button type="submit">Verify email</button>
        </form>
      )}
    </main>
  );
}
