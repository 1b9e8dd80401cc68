import { RespError, RespStatus, type RespArg, type RespValue } from "./resp";

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A Redis reply as Upstash's REST API shows it. With `Upstash-Encoding: base64` every string
 * is base64 of its bytes, except a top-level "OK" (the client decodes everything else).
 */
export function toUpstashJson(value: RespValue, base64: boolean, topLevel = true): Json {
  if (value === null || typeof value === "number") return value;
  if (Array.isArray(value)) return value.map((item) => toUpstashJson(item, base64, false));
  if (value instanceof RespStatus) {
    if (!base64 || (topLevel && value.value === "OK")) return value.value;
    return Buffer.from(value.value).toString("base64");
  }
  if (value instanceof RespError) {
    return base64 ? Buffer.from(value.message).toString("base64") : value.message;
  }
  return base64 ? value.toString("base64") : value.toString("utf8");
}

/** Upstash clients send arguments as JSON strings and numbers; Redis wants bytes. */
export function toRespArgs(command: unknown): RespArg[] {
  if (!Array.isArray(command) || command.length === 0) {
    throw new RespError("ERR a command must be a non-empty JSON array");
  }
  return command.map((arg: unknown) => {
    if (typeof arg === "string" || typeof arg === "number") return arg;
    if (typeof arg === "boolean") return String(arg);
    if (arg === null) return "";
    return JSON.stringify(arg);
  });
}
