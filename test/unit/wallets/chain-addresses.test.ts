import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { HDKey } from "@scure/bip32";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deriveDepositAddress,
  isValidAddress,
  parseAccountXpub,
  toChecksumAddress,
} from "../../../src/lib/chain-addresses";

// The well-known BIP39 test mnemonic ("abandon" × 11 + "about"), no passphrase.
const MNEMONIC = `${"abandon ".repeat(11)}about`;
const seed = pbkdf2(sha512, new TextEncoder().encode(MNEMONIC), new TextEncoder().encode("mnemonic"), {
  c: 2048,
  dkLen: 64,
});
const root = HDKey.fromMasterSeed(seed);
const btcXpub = root.derive("m/84'/0'/0'").publicExtendedKey;
const ethXpub = root.derive("m/44'/60'/0'").publicExtendedKey;

describe("deposit address derivation (published test vectors)", () => {
  it("BIP84: m/84'/0'/0'/0/0 and /0/1 of the test mnemonic", () => {
    expect(deriveDepositAddress("bitcoin", btcXpub, 0, "mainnet")).toBe(
      "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
    );
    expect(deriveDepositAddress("bitcoin", btcXpub, 1, "mainnet")).toBe(
      "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g",
    );
  });

  it("BIP44 Ethereum: m/44'/60'/0'/0/0 of the test mnemonic, EIP-55 checksummed", () => {
    expect(deriveDepositAddress("ethereum", ethXpub, 0, "mainnet")).toBe(
      "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
    );
  });

  it("refuses an extended private key", () => {
    expect(() => parseAccountXpub(root.derive("m/84'/0'/0'").privateExtendedKey)).toThrow();
  });

  it("derives distinct, valid addresses per index", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const btc = deriveDepositAddress("bitcoin", btcXpub, i, "mainnet");
      const eth = deriveDepositAddress("ethereum", ethXpub, i, "mainnet");
      expect(isValidAddress("bitcoin", btc, "mainnet")).toBe(true);
      expect(isValidAddress("ethereum", eth, "mainnet")).toBe(true);
      seen.add(btc).add(eth);
    }
    expect(seen.size).toBe(40);
  });
});

describe("withdrawal address validation", () => {
  it.each([
    ["bitcoin", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", true],
    ["bitcoin", "BC1QCR8TE4KR609GCAWUTMRZA0J4XV80JY8Z306FYU", true],
    ["bitcoin", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv", false], // bad checksum
    ["bitcoin", "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", true], // taproot (bech32m)
    ["bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", true], // P2PKH
    ["bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", true], // P2SH
    ["bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", false],
    ["bitcoin", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", false], // testnet on mainnet
    ["bitcoin", "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", false],
    ["ethereum", "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", true],
    ["ethereum", "0x9858effd232b4033e47d90003d41ec34ecaeda94", true],
    ["ethereum", "0x9858EfFD232B4033E47d90003D41EC34EcaEda95", false], // mixed case, wrong checksum
    ["ethereum", "0x0000000000000000000000000000000000000000", false],
    ["ethereum", "9858effd232b4033e47d90003d41ec34ecaeda94", false],
    ["ethereum", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", false],
  ] as const)("%s %s → %s", (chain, address, valid) => {
    expect(isValidAddress(chain, address, "mainnet")).toBe(valid);
  });

  it("accepts every checksummed form of random Ethereum addresses and rejects one flipped case", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{40}$/), (hex) => {
        fc.pre(!/^0+$/.test(hex));
        const checksummed = toChecksumAddress(hex);
        expect(isValidAddress("ethereum", checksummed, "mainnet")).toBe(true);
        const i = [...checksummed].findIndex((ch, idx) => idx > 1 && /[a-fA-F]/.test(ch));
        fc.pre(i > 0);
        const ch = checksummed[i]!;
        const flipped =
          checksummed.slice(0, i) +
          (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) +
          checksummed.slice(i + 1);
        const body = flipped.slice(2);
        fc.pre(body !== body.toLowerCase() && body !== body.toUpperCase());
        expect(isValidAddress("ethereum", flipped, "mainnet")).toBe(false);
      }),
    );
  });
});
