import { ripemd160 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { bech32, bech32m, createBase58check } from "@scure/base";
import { HDKey } from "@scure/bip32";

/**
 * Deposit addresses from account-level extended PUBLIC keys (BIP32/BIP44/BIP84): the service
 * derives `{account xpub}/0/{index}` and encodes it; it never sees a private key. Also the
 * per-chain checks of withdrawal addresses.
 */

export type Chain = "bitcoin" | "ethereum";
export type BitcoinNetwork = "mainnet" | "testnet";

const BECH32_HRP: Record<BitcoinNetwork, string> = { mainnet: "bc", testnet: "tb" };
/** Base58 version bytes: P2PKH and P2SH per network. */
const BASE58_VERSIONS: Record<BitcoinNetwork, number[]> = { mainnet: [0x00, 0x05], testnet: [0x6f, 0xc4] };

/** SLIP-132 prefixes some wallets export for BIP84 accounts; the key material is the same. */
const XPUB_VERSIONS: Record<string, { private: number; public: number }> = {
  xpub: { private: 0x0488ade4, public: 0x0488b21e },
  tpub: { private: 0x04358394, public: 0x043587cf },
  zpub: { private: 0x04b2430c, public: 0x04b24746 },
  vpub: { private: 0x045f18bc, public: 0x045f1cf6 },
};

const base58check = createBase58check(sha256);

/** Parses an account-level extended public key; refuses an extended private key. */
export function parseAccountXpub(xpub: string): HDKey {
  const versions = XPUB_VERSIONS[xpub.slice(0, 4)];
  if (!versions) throw new Error("Unsupported extended public key (expected xpub, tpub, zpub or vpub)");
  const key = HDKey.fromExtendedKey(xpub, versions);
  if (key.privateKey) throw new Error("An extended PRIVATE key must never be configured here");
  return key;
}

/** The compressed public key at `{account}/0/{index}` (external chain, BIP44 layout). */
export function deriveReceivePublicKey(account: HDKey, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) throw new RangeError("Bad derivation index");
  const publicKey = account.deriveChild(0).deriveChild(index).publicKey;
  if (!publicKey) throw new Error("Derivation produced no public key");
  return publicKey;
}

/** BIP84 native segwit (P2WPKH): bech32 of witness v0 + HASH160(pubkey). */
export function bitcoinP2wpkhAddress(publicKey: Uint8Array, network: BitcoinNetwork): string {
  const program = ripemd160(sha256(publicKey));
  return bech32.encode(BECH32_HRP[network], [0, ...bech32.toWords(program)]);
}

// secp256k1 field prime; y² = x³ + 7. Decompression is all Ethereum needs from the curve.
const P = 2n ** 256n - 2n ** 32n - 977n;

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** 33-byte compressed point → 64 bytes x ‖ y. */
export function decompressPublicKey(compressed: Uint8Array): Uint8Array {
  if (compressed.length !== 33 || (compressed[0] !== 2 && compressed[0] !== 3)) {
    throw new Error("Expected a 33-byte compressed secp256k1 public key");
  }
  const x = BigInt(`0x${bytesToHex(compressed.subarray(1))}`);
  const ySquared = (x ** 3n + 7n) % P;
  let y = modPow(ySquared, (P + 1n) / 4n, P);
  if ((y * y) % P !== ySquared) throw new Error("Not a point on secp256k1");
  if ((y & 1n) !== BigInt(compressed[0]! & 1)) y = P - y;
  const out = new Uint8Array(64);
  out.set(compressed.subarray(1), 0);
  out.set(hexToBytes32(y), 32);
  return out;
}

function hexToBytes32(value: bigint): Uint8Array {
  const hex = value.toString(16).padStart(64, "0");
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** EIP-55 mixed-case checksum of a 40-hex-digit address. */
export function toChecksumAddress(hex40: string): string {
  const lower = hex40.toLowerCase();
  const hash = bytesToHex(keccak_256(new TextEncoder().encode(lower)));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const ch = lower[i]!;
    out += parseInt(hash[i]!, 16) >= 8 ? ch.toUpperCase() : ch;
  }
  return out;
}

/** The Ethereum address of a public key: last 20 bytes of keccak256(x ‖ y), checksummed. */
export function ethereumAddress(publicKey: Uint8Array): string {
  const hash = keccak_256(decompressPublicKey(publicKey));
  return toChecksumAddress(bytesToHex(hash.subarray(12)));
}

/** The deposit address of `index` under the chain's account xpub. */
export function deriveDepositAddress(
  chain: Chain,
  xpub: string,
  index: number,
  network: BitcoinNetwork,
): string {
  const publicKey = deriveReceivePublicKey(parseAccountXpub(xpub), index);
  return chain === "bitcoin" ? bitcoinP2wpkhAddress(publicKey, network) : ethereumAddress(publicKey);
}

function isValidBitcoinAddress(address: string, network: BitcoinNetwork): boolean {
  const hrp = BECH32_HRP[network];
  if (address.toLowerCase().startsWith(`${hrp}1`)) {
    // Bech32 must be all lower or all upper case.
    if (address !== address.toLowerCase() && address !== address.toUpperCase()) return false;
    const lower = address.toLowerCase() as `${string}1${string}`;
    for (const coder of [bech32, bech32m]) {
      const decoded = coder.decodeUnsafe(lower);
      if (!decoded || decoded.prefix !== hrp || decoded.words.length === 0) continue;
      const version = decoded.words[0]!;
      const program = coder.fromWordsUnsafe(decoded.words.slice(1));
      if (!program || version > 16) continue;
      // BIP350: v0 uses bech32, v1+ bech32m.
      if ((version === 0) !== (coder === bech32)) continue;
      if (version === 0 && program.length !== 20 && program.length !== 32) continue;
      if (program.length < 2 || program.length > 40) continue;
      return true;
    }
    return false;
  }
  try {
    const payload = base58check.decode(address);
    return payload.length === 21 && BASE58_VERSIONS[network].includes(payload[0]!);
  } catch {
    return false;
  }
}

function isValidEthereumAddress(address: string): boolean {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) return false;
  const body = address.slice(2);
  if (/^0+$/.test(body)) return false; // the zero address burns funds
  if (body === body.toLowerCase() || body === body.toUpperCase()) return true;
  return toChecksumAddress(body) === address; // mixed case must carry a valid EIP-55 checksum
}

/** Whether `address` is a well-formed destination on `chain` (checksums included). */
export function isValidAddress(chain: Chain, address: string, network: BitcoinNetwork): boolean {
  if (address.length > 100) return false;
  return chain === "bitcoin" ? isValidBitcoinAddress(address, network) : isValidEthereumAddress(address);
}

/** A canonical form for comparing addresses (Ethereum is case-insensitive, bech32 too). */
export function normalizeAddress(chain: Chain, address: string): string {
  if (chain === "ethereum") return address.toLowerCase();
  return /^(bc|tb)1/i.test(address) ? address.toLowerCase() : address;
}
