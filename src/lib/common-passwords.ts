/**
 * Passwords refused when set: the most common ones, and those built on a word of this context.
 *
 * The list is @zxcvbn-ts/language-common's `passwords-common`: 49,233 passwords ranked from
 * public breach corpora (17,950 of them 8+ characters; the length rule refuses the rest anyway),
 * compared case-insensitively. It is imported on first use, not at start: decompressing it costs
 * about 200 ms of CPU, which only registration and password changes should pay, once per isolate.
 */
let common: Promise<ReadonlySet<string>> | undefined;

function commonPasswords(): Promise<ReadonlySet<string>> {
  common ??= import("@zxcvbn-ts/language-common").then(
    ({ dictionary }) => new Set(dictionary["passwords-common"].map((p) => p.toLowerCase())),
  );
  return common;
}

export async function isCommonPassword(password: string): Promise<boolean> {
  return (await commonPasswords()).has(password.toLowerCase());
}

/** The product's own words (ASVS: context-specific words are refused like common passwords). */
export const CONTEXT_WORDS: readonly string[] = ["pandora", "exchange"];

/**
 * Whether the password is built on a context word (the product's name, the user's email local
 * part): without those words fewer than 8 letters or digits remain. "pandora2024!" is; a long
 * passphrase that merely contains "exchange" is not.
 */
export function leansOnContext(password: string, words: readonly string[]): boolean {
  let rest = password.toLowerCase();
  let found = false;
  for (const word of words.map((w) => w.toLowerCase()).filter((w) => w.length >= 3)) {
    if (!rest.includes(word)) continue;
    found = true;
    rest = rest.split(word).join("");
  }
  return found && [...rest.replace(/[^\p{L}\p{N}]/gu, "")].length < 8;
}

/** The words of a user's own context: the product's and the local part of the email. */
export const userContextWords = (email: string): string[] => [...CONTEXT_WORDS, email.split("@")[0] ?? ""];
