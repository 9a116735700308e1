/**
 * The Java client's routing-key hash (`HashHelper.seededWith("EventRouter").hashToRange(key)`):
 * Guava `murmur3_128(seed)` over the key's UTF-16 code units, each little-endian
 * (`hashUnencodedChars`), `asLong()` = h1, then the 52 bits 12..63 of h1 as a fraction in [0, 1).
 * A key goes to the segment whose key range has the smallest upper bound ≥ that fraction.
 *
 * MurmurHash3 x64-128 is computed with 32-bit halves (no bigint), so hashing a key allocates
 * nothing but the result.
 */

/** Java `String.hashCode()`: `s[0]*31^(n-1) + … + s[n-1]`, as a signed 32-bit int. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** `"EventRouter".hashCode()`, the seed of the routing-key hash. */
export const ROUTING_KEY_SEED = 1741865571;
/** `"SegmentAttribute".hashCode()`, the seed of attribute-name UUIDs. */
export const SEGMENT_ATTRIBUTE_SEED = 817748169;

// 64-bit values are (hi, lo) unsigned 32-bit halves. The helpers leave their result in RES
// (a typed array, so storing it allocates nothing, unlike a module-level `let` of a double).
const RES = new Uint32Array(2);
const OUT = new Uint32Array(4);

/** (ah,al) * (bh,bl) mod 2^64: the high word of al*bl (from 16-bit halves) plus the cross terms. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const lh = a0 * b1;
  const hl = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const carry = a1 * b1 + (lh >>> 16) + (hl >>> 16) + (mid >>> 16);
  RES[0] = carry + Math.imul(al, bh) + Math.imul(ah, bl);
  RES[1] = Math.imul(al, bl);
}

/** rotate left by n, 0 < n < 32 */
function rotl(h: number, l: number, n: number): void {
  RES[0] = (h << n) | (l >>> (32 - n));
  RES[1] = (l << n) | (h >>> (32 - n));
}

function add64(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  RES[1] = lo;
  RES[0] = ah + bh + (lo > 0xffffffff ? 1 : 0);
}

const C1_H = 0x87c37b91;
const C1_L = 0x114253d5;
const C2_H = 0x4cf5ad43;
const C2_L = 0x2745937f;

/** mixK1: k *= c1; k = rotl(k, 31); k *= c2 */
function mixK1(h: number, l: number): void {
  mul64(h, l, C1_H, C1_L);
  rotl(RES[0] as number, RES[1] as number, 31);
  mul64(RES[0] as number, RES[1] as number, C2_H, C2_L);
}

/** mixK2: k *= c2; k = rotl(k, 33); k *= c1 (rotl 33 = swap halves, then rotl 1) */
function mixK2(h: number, l: number): void {
  mul64(h, l, C2_H, C2_L);
  rotl(RES[1] as number, RES[0] as number, 1);
  mul64(RES[0] as number, RES[1] as number, C1_H, C1_L);
}

/** fmix64: k ^= k >>> 33; k *= 0xff51afd7ed558ccd; k ^= k >>> 33; k *= 0xc4ceb9fe1a85ec53; k ^= k >>> 33 */
function fmix64(h: number, l: number): void {
  l = (l ^ (h >>> 1)) >>> 0;
  mul64(h, l, 0xff51afd7, 0xed558ccd);
  h = RES[0] as number;
  l = ((RES[1] as number) ^ (h >>> 1)) >>> 0;
  mul64(h, l, 0xc4ceb9fe, 0x1a85ec53);
  RES[1] = (RES[1] as number) ^ ((RES[0] as number) >>> 1);
}

/** Guava `murmur3_128(seed).hashUnencodedChars(s)`, left in OUT as h1 hi, h1 lo, h2 hi, h2 lo. */
function murmurInto(s: string, seed: number): void {
  let h1h = seed < 0 ? 0xffffffff : 0;
  let h1l = seed >>> 0;
  let h2h = h1h;
  let h2l = h1l;
  const n = s.length;
  const blocks = n - (n % 8);
  let i = 0;
  for (; i < blocks; i += 8) {
    const k1l = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
    const k1h = (s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16)) >>> 0;
    const k2l = (s.charCodeAt(i + 4) | (s.charCodeAt(i + 5) << 16)) >>> 0;
    const k2h = (s.charCodeAt(i + 6) | (s.charCodeAt(i + 7) << 16)) >>> 0;
    // h1 ^= mixK1(k1); h1 = rotl(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729
    mixK1(k1h, k1l);
    rotl((h1h ^ (RES[0] as number)) >>> 0, (h1l ^ (RES[1] as number)) >>> 0, 27);
    add64(RES[0] as number, RES[1] as number, h2h, h2l);
    mul64(RES[0] as number, RES[1] as number, 0, 5);
    add64(RES[0] as number, RES[1] as number, 0, 0x52dce729);
    h1h = RES[0] as number;
    h1l = RES[1] as number;
    // h2 ^= mixK2(k2); h2 = rotl(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5
    mixK2(k2h, k2l);
    rotl((h2h ^ (RES[0] as number)) >>> 0, (h2l ^ (RES[1] as number)) >>> 0, 31);
    add64(RES[0] as number, RES[1] as number, h1h, h1l);
    mul64(RES[0] as number, RES[1] as number, 0, 5);
    add64(RES[0] as number, RES[1] as number, 0, 0x38495ab5);
    h2h = RES[0] as number;
    h2l = RES[1] as number;
  }
  if (i < n) {
    // the tail: chars 0,1 → k1 low half, 2,3 → k1 high half, 4,5 → k2 low half, 6 → k2 high half
    const left = n - i;
    const c0 = s.charCodeAt(i);
    const c1 = left > 1 ? s.charCodeAt(i + 1) : 0;
    const c2 = left > 2 ? s.charCodeAt(i + 2) : 0;
    const c3 = left > 3 ? s.charCodeAt(i + 3) : 0;
    const c4 = left > 4 ? s.charCodeAt(i + 4) : 0;
    const c5 = left > 5 ? s.charCodeAt(i + 5) : 0;
    const c6 = left > 6 ? s.charCodeAt(i + 6) : 0;
    mixK1((c2 | (c3 << 16)) >>> 0, (c0 | (c1 << 16)) >>> 0);
    h1h = (h1h ^ (RES[0] as number)) >>> 0;
    h1l = (h1l ^ (RES[1] as number)) >>> 0;
    mixK2(c6, (c4 | (c5 << 16)) >>> 0);
    h2h = (h2h ^ (RES[0] as number)) >>> 0;
    h2l = (h2l ^ (RES[1] as number)) >>> 0;
  }
  // finalization: the length is in bytes (2 per char; a string has < 2^30 chars)
  const byteLength = n * 2;
  h1l = (h1l ^ byteLength) >>> 0;
  h2l = (h2l ^ byteLength) >>> 0;
  add64(h1h, h1l, h2h, h2l);
  h1h = RES[0] as number;
  h1l = RES[1] as number;
  add64(h2h, h2l, h1h, h1l);
  h2h = RES[0] as number;
  h2l = RES[1] as number;
  fmix64(h1h, h1l);
  h1h = RES[0] as number;
  h1l = RES[1] as number;
  fmix64(h2h, h2l);
  h2h = RES[0] as number;
  h2l = RES[1] as number;
  add64(h1h, h1l, h2h, h2l);
  OUT[0] = RES[0] as number;
  OUT[1] = RES[1] as number;
  add64(h2h, h2l, OUT[0], OUT[1]);
  OUT[2] = RES[0] as number;
  OUT[3] = RES[1] as number;
}

/** The 128-bit result as four unsigned 32-bit halves: h1 hi, h1 lo, h2 hi, h2 lo. */
export type Murmur128 = readonly [number, number, number, number];

/** Guava `murmur3_128(seed).hashUnencodedChars(s)`. */
export function murmur3x64Utf16(s: string, seed: number): Murmur128 {
  murmurInto(s, seed);
  return [OUT[0] as number, OUT[1] as number, OUT[2] as number, OUT[3] as number];
}

const TWO_POW_20 = 0x100000;
const TWO_POW_52 = 0x10000000000000;

/** `HashHelper.longToDoubleFraction` of a long given as halves: bits 12..63 as a fraction of 2^52. */
function fraction(hi: number, lo: number): number {
  return (hi * TWO_POW_20 + (lo >>> 12)) / TWO_POW_52;
}

/** Guava `asLong()` of the routing-key hash: h1 as a signed 64-bit value. */
export function routingKeyHashLong(key: string): bigint {
  murmurInto(key, ROUTING_KEY_SEED);
  return BigInt.asIntN(64, (BigInt(OUT[0] as number) << 32n) | BigInt(OUT[1] as number));
}

/**
 * Where a routing key falls in the key space [0, 1): identical to the Java client's
 * `hashToRange`, so TS and Java writers put a key on the same segment.
 */
export function hashRoutingKey(key: string): number {
  murmurInto(key, ROUTING_KEY_SEED);
  return fraction(OUT[0] as number, OUT[1] as number);
}

/**
 * The UUID of a named segment attribute, as the Java client's `SegmentAttribute` computes it:
 * murmur3_128 seeded with `"SegmentAttribute".hashCode()` over the name's UTF-16, the 16 result
 * bytes (h1 then h2, each little-endian) read big-endian into a UUID.
 */
export function segmentAttributeId(name: string): string {
  const [h1h, h1l, h2h, h2l] = murmur3x64Utf16(name, SEGMENT_ATTRIBUTE_SEED);
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUInt32LE(h1l, 0);
  bytes.writeUInt32LE(h1h, 4);
  bytes.writeUInt32LE(h2l, 8);
  bytes.writeUInt32LE(h2h, 12);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The attribute the Java state synchronizer (`RevisionedStreamClient`) keeps its mark in. */
export const REVISION_STREAM_CLIENT_MARK = 'RevisionStreamClientMark';
