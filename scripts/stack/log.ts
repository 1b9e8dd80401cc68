// Human-readable logs on stderr; stdout is reserved for the supervisor's protocol lines.
export function log(message: string): void {
  try {
    process.stderr.write(`[stack] ${message}\n`);
  } catch {
    // The reader may be gone (parent killed); logging must never break a shutdown.
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
