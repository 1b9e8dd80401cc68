/** Keys whose values never reach a log line. */
const SECRET_KEY = /authorization|password|passwd|secret|token|cookie|signature|api[-_]?key|private|^d$/i;

export const REDACTED = "[REDACTED]";

/** Deep copy of `value` with every secret-looking field replaced, safe to log. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}
