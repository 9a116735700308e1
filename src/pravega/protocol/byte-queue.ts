import { TributaryError } from '../../errors.js';

const EMPTY = Buffer.alloc(0);

/**
 * Received chunks not yet consumed. `take` returns a view when the bytes lie in one chunk and
 * otherwise copies them once into a buffer of exactly the requested size; nothing is allocated for
 * bytes that have not arrived. Internal to the protocol folder.
 */
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  /** read position inside chunks[0] */
  private offset = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  clear(): void {
    this.chunks.length = 0;
    this.offset = 0;
    this.size = 0;
  }

  /**
   * When every buffered byte lies in one chunk: all of them as one view, and the queue empty;
   * otherwise undefined (nothing taken).
   */
  takeAllIfContiguous(): Buffer | undefined {
    if (this.chunks.length !== 1) return undefined;
    const head = this.chunks[0] as Buffer;
    const rest = this.offset === 0 ? head : head.subarray(this.offset);
    this.clear();
    return rest;
  }

  /** The int32 at `at` bytes past the read position; `at + 4 <= length`. */
  int32At(at: number): number {
    const head = this.chunks[0] as Buffer;
    const p = this.offset + at;
    if (p + 4 <= head.length) return head.readInt32BE(p);
    let v = 0;
    for (let i = 0; i < 4; i++) v = (v << 8) | this.byteAt(at + i);
    return v | 0;
  }

  private byteAt(at: number): number {
    let p = this.offset + at;
    for (const c of this.chunks) {
      if (p < c.length) return c[p] as number;
      p -= c.length;
    }
    throw new TributaryError('INTERNAL', 'ByteQueue read past its buffered bytes');
  }

  /** Drops `count` buffered bytes. */
  skip(count: number): void {
    let left = count;
    while (left > 0) {
      const head = this.chunks[0] as Buffer;
      const avail = head.length - this.offset;
      if (left < avail) {
        this.offset += left;
        break;
      }
      left -= avail;
      this.chunks.shift();
      this.offset = 0;
    }
    this.size -= count;
  }

  /** `count` buffered bytes: a view when they lie in one chunk, else one exact-size copy. */
  take(count: number): Buffer {
    if (count === 0) return EMPTY;
    const head = this.chunks[0] as Buffer;
    if (this.offset + count <= head.length) {
      const view = head.subarray(this.offset, this.offset + count);
      this.skip(count);
      return view;
    }
    const out = Buffer.allocUnsafe(count);
    let copied = 0;
    while (copied < count) {
      const c = this.chunks[0] as Buffer;
      const n = Math.min(c.length - this.offset, count - copied);
      c.copy(out, copied, this.offset, this.offset + n);
      copied += n;
      if (this.offset + n === c.length) {
        this.chunks.shift();
        this.offset = 0;
      } else {
        this.offset += n;
      }
    }
    this.size -= count;
    return out;
  }
}
