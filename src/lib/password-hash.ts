import { argon2idAsync } from "@noble/hashes/argon2.js";
import { fromBase64, toBase64NoPad } from "./base64";
import { constantTimeEqual } from "./constant-time";

export interface Argon2Params {
  /** Memory in KiB. */
  m: number;
  t: number;
  p: number;
}

/** OWASP's minimum for Argon2id; fits the 128 MB isolate (a 64 MiB setting does not, see DESIGN.md). */
export const DEFAULT_ARGON2: Argon2Params = { m: 19456, t: 2, p: 1 };

const HASH_BYTES = 32;
const SALT_BYTES = 16;
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

async function derive(password: string, salt: Uint8Array, params: Argon2Params): Promise<Uint8Array> {
  return argon2idAsync(password, salt, { m: params.m, t: params.t, p: params.p, dkLen: HASH_BYTES });
}

/** Hashes a password as a PHC string, so the parameters travel with the hash and can be raised later. */
export async function hashPassword(password: string, params: Argon2Params = DEFAULT_ARGON2): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, params);
  return `$argon2id$v=19$m=${params.m},t=${params.t},p=${params.p}$${toBase64NoPad(salt)}$${toBase64NoPad(hash)}`;
}

export interface VerifyResult {
  ok: boolean;
  /** The stored hash used weaker parameters than today's: store a fresh hash after this login. */
  needsRehash: boolean;
}

export async function verifyPassword(
  password: string,
  phc: string,
  current: Argon2Params = DEFAULT_ARGON2,
): Promise<VerifyResult> {
  const match = PHC.exec(phc);
  if (!match) return { ok: false, needsRehash: false };
  const params = { m: Number(match[1]), t: Number(match[2]), p: Number(match[3]) };
  const expected = fromBase64(match[5]!);
  const actual = await derive(password, fromBase64(match[4]!), params);
  const ok = constantTimeEqual(actual, expected);
  const needsRehash = params.m < current.m || params.t < current.t || params.p < current.p;
  return { ok, needsRehash: ok && needsRehash };
}
