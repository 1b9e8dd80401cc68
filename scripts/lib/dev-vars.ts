import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Reads a dotenv-style file (KEY=value per line, `#` comments) into a record. */
export function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

export function writeDevVars(path: string, vars: Record<string, string>, header: string): void {
  const body = Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
  writeFileSync(path, `${header}\n${body}\n`, { mode: 0o600 });
}
