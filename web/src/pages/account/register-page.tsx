import { useState } from "preact/hooks";
import { api, errorMessage } from "../../api/client";
import { Field, FormError } from "../../components/field";
import { Link } from "../../router";

export function RegisterPage() {
  const [form, setForm] = useState({ first_name: "", last_name: "", email: "", password: "" });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const passwordError = form.password && form.password.length < 8 ? "Use at least 8 characters" : undefined;

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const { data, error: refusal } = await api.POST("/api/v1/auth/register", { body: form });
    if (data) setDone(true);
    else setError(errorMessage(refusal));
  }

  if (done) {
    return (
      <main class="page narrow">
        <h1>Check your email</h1>
        <p role="status">
          Account created. Follow the link we sent to {form.email} to verify your email, then{" "}
          <Link href="/login">log in</Link>.
        </p>
      </main>
    );
  }
  return (
    <main class="page narrow">
      <h1>Register</h1>
      <form onSubmit={submit} aria-label="Register">
        <Field
          label="First name"
          autocomplete="given-name"
          required
          value={form.first_name}
          onValue={set("first_name")}
        />
        <Field
          label="Last name"
          autocomplete="family-name"
          required
          value={form.last_name}
          onValue={set("last_name")}
        />
        <Field
          label="Email"
          type="email"
          autocomplete="email"
          required
          value={form.email}
          onValue={set("email")}
        />
        <Field
          label="Password"
          type="password"
          autocomplete="new-password"
          required
          value={form.password}
          onValue={set("password")}
          error={passwordError}
          hint="8 to 128 characters; common passwords are refused"
        />
        <FormError message={error} />
        <button type="submit">Create account</button>
      </form>
      <p>
        Already registered? <Link href="/login">Log in</Link>
      </p>
    </main>
  );
}
