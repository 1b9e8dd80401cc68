import { createHash } from "node:crypto";
import type { RespArg } from "./resp";

const SHEBANG = /^#![^\n]*/;

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/**
 * Upstash accepts Lua shebang flags that real Redis 7.0 rejects (`#!lua
 * flags=allow-key-locking`, sent by @upstash/ratelimit). We blank the shebang line (keeping line
 * numbers in error messages) and remember sha1(original) -> sha1(stripped), so EVALSHA with
 * the hash a client computed over the original text still finds the script.
 */
export class LuaScripts {
  private readonly shas = new Map<string, string>();

  rewrite(args: RespArg[]): RespArg[] {
    const name = String(args[0]).toUpperCase();
    if (name === "EVAL" || name === "EVAL_RO") return this.withScript(args, 1);
    if (name === "SCRIPT" && String(args[1]).toUpperCase() === "LOAD") {
      return this.withScript(args, 2);
    }
    if (name === "EVALSHA" || name === "EVALSHA_RO") return this.withSha(args, 1);
    if (name === "SCRIPT" && String(args[1]).toUpperCase() === "EXISTS") {
      return args.map((arg, i) => (i >= 2 ? this.mapped(arg) : arg));
    }
    return args;
  }

  /** SCRIPT LOAD must answer the hash of what the client sent, not of what Redis stored. */
  loadedSha(args: RespArg[]): string | undefined {
    const isLoad = String(args[0]).toUpperCase() === "SCRIPT" && String(args[1]).toUpperCase() === "LOAD";
    const script = args[2];
    return isLoad && typeof script === "string" && SHEBANG.test(script) ? sha1(script) : undefined;
  }

  private withScript(args: RespArg[], index: number): RespArg[] {
    const script = args[index];
    if (typeof script !== "string" || !SHEBANG.test(script)) return args;
    const stripped = script.replace(SHEBANG, "");
    this.shas.set(sha1(script), sha1(stripped));
    return args.map((arg, i) => (i === index ? stripped : arg));
  }

  private withSha(args: RespArg[], index: number): RespArg[] {
    return args.map((arg, i) => (i === index ? this.mapped(arg) : arg));
  }

  private mapped(sha: RespArg): RespArg {
    return this.shas.get(String(sha).toLowerCase()) ?? sha;
  }
}
