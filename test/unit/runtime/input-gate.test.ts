import { describe, expect, it } from 'vitest';
import { Channel } from '../../../src/runtime/channel.js';
import { InputGate, type GateEvent } from '../../../src/runtime/input-gate.js';
import { recordBatch } from '../../../src/runtime/stream-element.js';

function setup(n: number) {
  const channels = Array.from({ length: n }, () => new Channel({ records: 10, bytes: undefined }));
  return { channels, gate: new InputGate(channels) };
}

function drain(gate: InputGate): GateEvent[] {
  const out: GateEvent[] = [];
  for (let e = gate.poll(); e !== undefined; e = gate.poll()) out.push(e);
  return out;
}

describe('InputGate', () => {
  it('emits the minimum watermark over inputs, only when it advances', () => {
    const { channels, gate } = setup(2);
    const [a, b] = channels as [Channel, Channel];
    a.push({ kind: 'watermark', timestamp: 100 });
    expect(drain(gate)).toEqual([]);
    b.push({ kind: 'watermark', timestamp: 50 });
    expect(drain(gate)).toEqual([{ kind: 'watermark', timestamp: 50 }]);
    b.push({ kind: 'watermark', timestamp: 300 });
    expect(drain(gate)).toEqual([{ kind: 'watermark', timestamp: 100 }]);
  });

  it('ignores idle inputs for the watermark and reports idleness when all are idle', () => {
    const { channels, gate } = setup(2);
    const [a, b] = channels as [Channel, Channel];
    a.push({ kind: 'watermark', timestamp: 100 });
    b.push({ kind: 'idle', idle: true });
    expect(drain(gate)).toEqual([{ kind: 'watermark', timestamp: 100 }]);
    a.push({ kind: 'idle', idle: true });
    expect(drain(gate)).toEqual([{ kind: 'idle', idle: true }]);
    b.push({ kind: 'idle', idle: false });
    b.push({ kind: 'watermark', timestamp: 150 });
    expect(drain(gate)).toEqual([
      { kind: 'idle', idle: false },
      { kind: 'watermark', timestamp: 150 },
    ]);
  });

  it('an input back from idleness never moves the watermark back; a held-back one is emitted', () => {
    const { channels, gate } = setup(2);
    const [a, b] = channels as [Channel, Channel];
    a.push({ kind: 'watermark', timestamp: 100 });
    b.push({ kind: 'idle', idle: true });
    expect(drain(gate)).toEqual([{ kind: 'watermark', timestamp: 100 }]);
    a.push({ kind: 'watermark', timestamp: 500 });
    expect(drain(gate)).toEqual([{ kind: 'watermark', timestamp: 500 }]);
    // b comes back behind: the combined watermark stays at 500 until b passes it
    b.push({ kind: 'idle', idle: false });
    b.push({ kind: 'watermark', timestamp: 200 });
    expect(drain(gate)).toEqual([]);
    expect(gate.watermark).toBe(500);
    b.push({ kind: 'watermark', timestamp: 800 });
    a.push({ kind: 'watermark', timestamp: 900 });
    expect(drain(gate)).toEqual([{ kind: 'watermark', timestamp: 800 }]);
    // both idle, then a comes back ahead: its watermark counts at once
    a.push({ kind: 'idle', idle: true });
    b.push({ kind: 'idle', idle: true });
    expect(drain(gate)).toEqual([
      { kind: 'watermark', timestamp: 900 },
      { kind: 'idle', idle: true },
    ]);
    a.push({ kind: 'watermark', timestamp: 1000 });
    expect(drain(gate)).toEqual([]);
    a.push({ kind: 'idle', idle: false });
    expect(drain(gate)).toEqual([
      { kind: 'idle', idle: false },
      { kind: 'watermark', timestamp: 1000 },
    ]);
  });

  it('aligns barriers: blocks an input after its barrier until every input delivered it', () => {
    const { channels, gate } = setup(2);
    const [a, b] = channels as [Channel, Channel];
    a.push(recordBatch([1], undefined));
    a.push({ kind: 'barrier', checkpointId: 1 });
    a.push(recordBatch([2], undefined)); // after the barrier: must wait
    b.push(recordBatch([10], undefined));
    const first = drain(gate);
    expect(first).toEqual([recordBatch([1], undefined), recordBatch([10], undefined)]);
    b.push(recordBatch([11], undefined));
    b.push({ kind: 'barrier', checkpointId: 1 });
    expect(drain(gate)).toEqual([
      recordBatch([11], undefined),
      { kind: 'barrier', checkpointId: 1 },
      recordBatch([2], undefined),
    ]);
  });

  it('releases the alignment when the checkpoint is aborted and drops its late barriers', () => {
    const { channels, gate } = setup(2);
    const [a, b] = channels as [Channel, Channel];
    a.push({ kind: 'barrier', checkpointId: 3 });
    a.push(recordBatch([1], undefined));
    expect(drain(gate)).toEqual([]);
    gate.abortCheckpoint(3);
    expect(drain(gate)).toEqual([recordBatch([1], undefined)]);
    b.push({ kind: 'barrier', checkpointId: 3 });
    b.push(recordBatch([2], undefined));
    expect(drain(gate)).toEqual([recordBatch([2], undefined)]);
  });

  it('a newer barrier abandons an older alignment', () => {
    const { channels, gate } = setup(2);
    const [a, b] = channels as [Channel, Channel];
    a.push({ kind: 'barrier', checkpointId: 1 });
    b.push({ kind: 'barrier', checkpointId: 2 });
    expect(drain(gate)).toEqual([]);
    a.push({ kind: 'barrier', checkpointId: 2 });
    expect(drain(gate)).toEqual([{ kind: 'barrier', checkpointId: 2 }]);
  });

  it('reports the end once every input ended; barriers still flow afterwards', () => {
    const { channels, gate } = setup(2);
    const [a, b] = channels as [Channel, Channel];
    a.push({ kind: 'end' });
    expect(drain(gate)).toEqual([]);
    b.push({ kind: 'end' });
    expect(drain(gate)).toEqual([{ kind: 'end' }]);
    a.push({ kind: 'barrier', checkpointId: 9 });
    b.push({ kind: 'barrier', checkpointId: 9 });
    expect(drain(gate)).toEqual([{ kind: 'barrier', checkpointId: 9 }]);
  });
});

describe('Channel', () => {
  it('is full at capacity and wakes the producer once half is drained', async () => {
    const channel = new Channel({ records: 4, bytes: undefined });
    channel.push(recordBatch([1, 2, 3, 4], undefined));
    expect(channel.isFull).toBe(true);
    let woken = false;
    const writable = channel.whenWritable().then(() => (woken = true));
    channel.push({ kind: 'watermark', timestamp: 1 }); // control elements are not counted
    expect(channel.queuedRecords).toBe(4);
    channel.shift();
    await Promise.resolve();
    expect(woken).toBe(true);
    await writable;
  });

  it('can also be bounded by estimated bytes', () => {
    const channel = new Channel({ records: 1_000_000, bytes: 1000 });
    channel.push(recordBatch(['x'.repeat(600)], undefined));
    expect(channel.isFull).toBe(true);
  });
});
