import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hashRoutingKey,
  javaStringHashCode,
  murmur3x64Utf16,
  REVISION_STREAM_CLIENT_MARK,
  ROUTING_KEY_SEED,
  routingKeyHashLong,
  SEGMENT_ATTRIBUTE_SEED,
  segmentAttributeId,
} from '../../../src/pravega/protocol/routing-hash.js';

/**
 * [key, asLong (h1), hashToRange]. The first seven are the reference's vectors (§1.8); the rest
 * were computed with `HashHelper.seededWith("EventRouter")` from pravega-common 0.13.0 (Guava 30)
 * to cover multi-block keys, exact block boundaries and lone surrogates.
 */
const VECTORS: [string, bigint, number][] = [
  ['', 4448956735870400463n, 0.24117842791623523],
  ['a', -1044246655373090880n, 0.9433912753816884],
  ['key', -2860917593966022649n, 0.8449093464660018],
  ['routingKey', -1631035938723704051n, 0.9115813645916913],
  ['hello', -6295574351161443649n, 0.658716230571337],
  ['\u043a\u043b\u044e\u0447', -6463848269791415060n, 0.6495940831637739],
  ['\ud83d\ude00', -4150045341951966737n, 0.7750255912171164],
  ['12345678', 2672940432906990538n, 0.14490039121410514],
  ['123456789', -7648168573584855723n, 0.5853919508491967],
  ['0123456789abcdef', 3045915190952504846n, 0.1651193933618651],
  ['0123456789abcdefg', -6523066820768855060n, 0.6463838390827146],
  ['a longer routing key with 30+ chars', 7029611832215429753n, 0.3810760210108888],
  ['\ud800', 7697243415145933854n, 0.4172684016425481],
  ['customer-000042', -5414276565346644807n, 0.7064914792706904],
  ['scope/stream/\u00e9\u00e8\u00ea/\u4e2d\u6587', -2613359708966315145n, 0.8583294863026316],
];

describe('routing-key hash', () => {
  it.each(VECTORS)('%j → %s, %s', (key, long, fraction) => {
    expect(routingKeyHashLong(key)).toBe(long);
    expect(hashRoutingKey(key)).toBe(fraction);
  });

  it('uses the seeds Java derives from String.hashCode', () => {
    expect(javaStringHashCode('EventRouter')).toBe(ROUTING_KEY_SEED);
    expect(javaStringHashCode('SegmentAttribute')).toBe(SEGMENT_ATTRIBUTE_SEED);
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
  });

  it('gives the RevisionStreamClientMark attribute UUID', () => {
    expect(segmentAttributeId(REVISION_STREAM_CLIENT_MARK)).toBe(
      '7df9a874-246c-c9d6-9397-cdd19ead68c5',
    );
  });

  it('always lands in [0, 1)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (key) => {
        const h = hashRoutingKey(key);
        expect(h).toBeGreaterThanOrEqual(0);
        expect(h).toBeLessThan(1);
      }),
    );
  });
});

// An independent, straightforward bigint MurmurHash3 x64-128 over bytes, to check the 32-bit one.
const M = (1n << 64n) - 1n;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const fmix = (k: bigint): bigint => {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & M;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & M;
  return k ^ (k >> 33n);
};
const C1 = 0x87c37b91114253d5n;
const C2 = 0x4cf5ad432745937fn;

function referenceMurmur(bytes: Buffer, seed: number): Buffer {
  let h1 = BigInt.asUintN(64, BigInt(seed));
  let h2 = h1;
  const blocks = bytes.length - (bytes.length % 16);
  for (let i = 0; i < blocks; i += 16) {
    let k1 = bytes.readBigUInt64LE(i);
    let k2 = bytes.readBigUInt64LE(i + 8);
    k1 = (rotl((k1 * C1) & M, 31n) * C2) & M;
    h1 = rotl(h1 ^ k1, 27n);
    h1 = (((h1 + h2) & M) * 5n + 0x52dce729n) & M;
    k2 = (rotl((k2 * C2) & M, 33n) * C1) & M;
    h2 = rotl(h2 ^ k2, 31n);
    h2 = (((h2 + h1) & M) * 5n + 0x38495ab5n) & M;
  }
  if (blocks < bytes.length) {
    const tail = Buffer.alloc(16);
    bytes.copy(tail, 0, blocks);
    let k1 = tail.readBigUInt64LE(0);
    let k2 = tail.readBigUInt64LE(8);
    k1 = (rotl((k1 * C1) & M, 31n) * C2) & M;
    h1 ^= k1;
    k2 = (rotl((k2 * C2) & M, 33n) * C1) & M;
    h2 ^= k2;
  }
  const len = BigInt(bytes.length);
  h1 ^= len;
  h2 ^= len;
  h1 = (h1 + h2) & M;
  h2 = (h2 + h1) & M;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 = (h1 + h2) & M;
  h2 = (h2 + h1) & M;
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(h1, 0);
  out.writeBigUInt64LE(h2, 8);
  return out;
}

function utf16le(s: string): Buffer {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16LE(s.charCodeAt(i), i * 2);
  return b;
}

function asBytes([h1h, h1l, h2h, h2l]: readonly number[]): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(h1l as number, 0);
  b.writeUInt32LE(h1h as number, 4);
  b.writeUInt32LE(h2l as number, 8);
  b.writeUInt32LE(h2h as number, 12);
  return b;
}

describe('murmur3x64Utf16', () => {
  it('the bigint reference matches Guava murmur3_128 (known vectors)', () => {
    expect(
      referenceMurmur(Buffer.from('The quick brown fox jumps over the lazy dog'), 0).toString(
        'hex',
      ),
    ).toBe('6c1b07bc7bbc4be347939ac4a93c437a');
    // Guava: Hashing.murmur3_128(-5).hashUnencodedChars("negative seed, more than 16 bytes")
    const s = 'negative seed, more than 16 bytes';
    expect(referenceMurmur(utf16le(s), -5).toString('hex')).toBe(
      '5fd92bd4701229b39c7e8be529ec8c66',
    );
    expect(asBytes(murmur3x64Utf16(s, -5)).toString('hex')).toBe(
      '5fd92bd4701229b39c7e8be529ec8c66',
    );
  });

  it('equals the bigint reference over the UTF-16LE code units of any string and seed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.integer(), (s, seed) => {
        expect(asBytes(murmur3x64Utf16(s, seed))).toEqual(referenceMurmur(utf16le(s), seed));
      }),
      { numRuns: 500 },
    );
  });
});
