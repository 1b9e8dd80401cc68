import { redact } from "./redact";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/**
 * Structured JSON logs, one object per line, with the request's correlation fields bound in.
 * Every field passes through `redact`, so a careless `log.info("x", { headers })` cannot
 * leak an Authorization header or a password.
 */
export class Logger {
  constructor(
    private readonly level: LogLevel = "info",
    private readonly bound: LogFields = {},
  ) {}

  child(fields: LogFields): Logger {
    return new Logger(this.level, { ...this.bound, ...fields });
  }

  debug(msg: string, fields?: LogFields): void {
    this.write("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write("error", msg, fields);
  }

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < RANK[this.level]) return;
    const line = JSON.stringify(
      redact({ ts: new Date().toISOString(), level, msg, ...this.bound, ...fields }),
    );
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  }
}

export function parseLogLevel(value: string | undefined): LogLevel {
  return value === "debug" || value === "warn" || value === "error" ? value : "info";
}

/** Serializable summary of an unknown thrown value, for logs only (never for clients). */
export function describeError(err: unknown): LogFields {
  if (err instanceof Error) return { error_name: err.name, error_message: err.message, stack: err.stack };
  return { error_message: String(err) };
}
