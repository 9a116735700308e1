import { expect } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import {
  type GroupState,
  type KeyRange,
  type SegmentKey,
  type Transition,
} from '../../../src/pravega/client/reader-group/group-state.js';
import { acquireSegments } from '../../../src/pravega/client/reader-group/assignment.js';
import { addReader, initialState } from '../../../src/pravega/client/reader-group/membership.js';
import {
  parseReaderGroupConfig,
  type ReaderGroupConfigInput,
} from '../../../src/pravega/client/reader-group/reader-group-config.js';
import { segmentIdOf, segmentName } from '../../../src/pravega/protocol/index.js';

/** Segment name of segment `number` created in `epoch` of sc/st. */
export function seg(number: number, epoch = 0, stream = 'st'): SegmentKey {
  return segmentName('sc', stream, segmentIdOf(epoch, number));
}

/** A group over sc/st starting at `start` (segment → [offset, range]). */
export function groupOf(
  start: readonly (readonly [SegmentKey, bigint, KeyRange])[],
  config: Partial<ReaderGroupConfigInput> = {},
): GroupState {
  const parsed = parseReaderGroupConfig({ streams: ['sc/st'], ...config });
  return initialState(
    parsed,
    0,
    new Map(start.map(([k, o]) => [k, o])),
    new Map(start.map(([k, , r]) => [k, r])),
  );
}

/** `n` segments of epoch 0 splitting the key space evenly, all at offset 0. */
export function evenSegments(n: number): [SegmentKey, bigint, KeyRange][] {
  return Array.from({ length: n }, (_, i) => [seg(i), 0n, [i / n, (i + 1) / n]]);
}

/** The state after a transition that must have changed it. */
export function after<R>(t: Transition<R>): GroupState {
  expect(t.state).toBeDefined();
  return t.state!;
}

export function withReaders(state: GroupState, ...readers: string[]): GroupState {
  let s = state;
  for (const r of readers) s = after(addReader(s, r, `session-${r}`));
  return s;
}

export function session(reader: string): string {
  return `session-${reader}`;
}

export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (TributaryError.is(err)) return err.code;
    throw err;
  }
  return 'no error';
}

/** Every segment appears in exactly one of assigned, unassigned, futures, completed. */
export function expectConsistent(state: GroupState): void {
  const all = [
    ...state.assigned.keys(),
    ...state.unassigned.keys(),
    ...state.futures.keys(),
    ...state.completed.keys(),
  ];
  expect(new Set(all).size).toBe(all.length);
  for (const a of state.assigned.values()) expect(state.members.has(a.reader)).toBe(true);
}

/** `reader` takes what it may (the state unchanged when it may take nothing). */
export function acquire(state: GroupState, reader: string): GroupState {
  return acquireSegments(state, reader, session(reader)).state ?? state;
}
