import { describe, expect, it } from 'vitest';
import { keyGroupOf, type Key } from '../../../src/runtime/key-groups.js';
import { HeapKeyedStateBackend } from '../../../src/runtime/keyed-state.js';
import type { SectionTables } from '../../../src/state/state-sections.js';

/** A capture's sections as `{ [table]: { puts: [[key, value]…], deletes: [key…] } }`, sorted. */
function captured(
  groups: Map<number, SectionTables>,
): Record<string, { puts: [Key, unknown][]; deletes: Key[] }> {
  const out: Record<string, { puts: [Key, unknown][]; deletes: Key[] }> = {};
  for (const tables of groups.values()) {
    for (const [name, [, puts, deletes]] of Object.entries(tables)) {
      const table = (out[name] ??= { puts: [], deletes: [] });
      for (let i = 0; i < puts.length; i += 2) table.puts.push([puts[i] as Key, puts[i + 1]]);
      table.deletes.push(...deletes);
    }
  }
  for (const table of Object.values(out)) {
    table.puts.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    table.deletes.sort((a, b) => String(a).localeCompare(String(b)));
  }
  return out;
}

function tracked(): HeapKeyedStateBackend {
  const backend = new HeapKeyedStateBackend(8);
  backend.trackChanges();
  return backend;
}

describe('heap keyed state: one slot per key, changes captured once', () => {
  it('a write after a capture replaces the value: the capture keeps the value it took', () => {
    const backend = tracked();
    const state = backend.valueState<{ c: number }>('v');
    backend.setCurrentKey('a');
    state.update({ c: 1 });
    const first = backend.captureChanges();
    state.update({ c: 2 });
    expect(captured(first.groups)).toEqual({ v: { puts: [['a', { c: 1 }]], deletes: [] } });
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: { puts: [['a', { c: 2 }]], deletes: [] },
    });
  });

  it('a key written many times between captures is captured once, with its newest state', () => {
    const backend = tracked();
    const value = backend.valueState<number>('v');
    const list = backend.listState<number>('l');
    for (let i = 0; i < 5; i++) {
      for (const key of ['a', 'b']) {
        backend.setCurrentKey(key);
        value.update(value.value() === undefined ? i : (value.value() as number) + 1);
        list.add(i);
      }
    }
    const { changed, groups } = backend.captureChanges();
    expect(captured(groups)).toEqual({
      v: {
        puts: [
          ['a', 4],
          ['b', 4],
        ],
        deletes: [],
      },
      l: {
        puts: [
          ['a', [0, 1, 2, 3, 4]],
          ['b', [0, 1, 2, 3, 4]],
        ],
        deletes: [],
      },
    });
    expect([...changed.entries()].map(([t, keys]) => [t, [...keys].sort()])).toEqual([
      ['v', ['a', 'b']],
      ['l', ['a', 'b']],
    ]);
    expect(backend.captureChanges().groups.size).toBe(0);
  });

  it('a clear is captured as a delete; the key has no state meanwhile and may be written again', () => {
    const backend = tracked();
    const state = backend.valueState<number>('v');
    const map = backend.mapState<string, number>('m');
    backend.setCurrentKey('a');
    state.update(1);
    map.put('x', 1);
    backend.captureChanges();
    state.clear();
    map.remove('x'); // the map's last entry: the key's map state goes
    expect(state.value()).toBeUndefined();
    expect(map.size()).toBe(0);
    expect(backend.keyCount()).toBe(0);
    expect(backend.snapshot().size).toBe(0);
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: { puts: [], deletes: ['a'] },
      m: { puts: [], deletes: ['a'] },
    });
    state.update(2);
    expect(state.value()).toBe(2);
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: { puts: [['a', 2]], deletes: [] },
    });
    // cleared and written again before the next capture: a put
    state.clear();
    state.update(3);
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: { puts: [['a', 3]], deletes: [] },
    });
  });

  it('keys of a declined capture are captured again, deletes included, with their newest state', () => {
    const backend = tracked();
    const state = backend.valueState<number>('v');
    for (const key of ['a', 'b', 'c']) {
      backend.setCurrentKey(key);
      state.update(1);
    }
    backend.captureChanges();
    backend.setCurrentKey('a');
    state.clear();
    backend.setCurrentKey('b');
    state.update(2);
    const declined = backend.captureChanges();
    backend.setCurrentKey('c');
    state.update(3);
    backend.markChanged(declined.changed);
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: {
        puts: [
          ['b', 2],
          ['c', 3],
        ],
        deletes: ['a'],
      },
    });
  });

  it('a capture refused for a value breaking the StateValue rules takes nothing: every change stays', () => {
    const backend = tracked();
    const state = backend.valueState<unknown>('v');
    const other = backend.valueState<number>('w');
    backend.setCurrentKey('a');
    other.update(1);
    state.update(1);
    backend.setCurrentKey('b');
    state.update({ when: new (class Custom {})() });
    expect(() => backend.captureChanges()).toThrow(/instance of class Custom/);
    state.update(2);
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: {
        puts: [
          ['a', 1],
          ['b', 2],
        ],
        deletes: [],
      },
      w: { puts: [['a', 1]], deletes: [] },
    });
  });

  it('reads and writes go to the current key, also right after another key was read', () => {
    for (const backend of [new HeapKeyedStateBackend(8), tracked()]) {
      const state = backend.valueState<string>('v');
      backend.setCurrentKey('a');
      state.update('A');
      backend.setCurrentKey('b');
      expect(state.value()).toBeUndefined();
      state.update('B');
      backend.setCurrentKey('a');
      expect(state.value()).toBe('A');
      state.clear();
      expect(state.value()).toBeUndefined();
      backend.captureChanges(); // drops the captured delete of 'a'
      expect(state.value()).toBeUndefined();
      state.update('A2');
      backend.setCurrentKey('b');
      expect(state.value()).toBe('B');
      backend.setCurrentKey('a');
      expect(state.value()).toBe('A2');
      expect(backend.keyCount()).toBe(2);
    }
  });

  it('a delete applied from a checkpoint over a changed key is captured as that delete', () => {
    const backend = tracked();
    const state = backend.valueState<number>('v');
    backend.setCurrentKey('a');
    state.update(1);
    backend.applySection({ v: ['value', [], ['a']] });
    expect(state.value()).toBeUndefined();
    backend.applySection({ v: ['value', ['b', 5], []] });
    backend.setCurrentKey('b');
    expect(state.value()).toBe(5);
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: { puts: [], deletes: ['a'] },
    });
  });

  it('slots of captured deletes go to new keys: every key keeps its own state', () => {
    for (const backend of [tracked(), new HeapKeyedStateBackend(8)]) {
      const state = backend.valueState<number>('v');
      for (let k = 0; k < 100; k++) {
        backend.setCurrentKey(k);
        state.update(k);
      }
      backend.captureChanges();
      for (let k = 0; k < 100; k += 2) {
        backend.setCurrentKey(k);
        state.clear();
      }
      backend.captureChanges(); // the deletes are captured: their slots are free
      for (let k = 100; k < 150; k++) {
        backend.setCurrentKey(k);
        state.update(k);
      }
      backend.setCurrentKey('s');
      state.update(-1);
      const read: (number | undefined)[] = [];
      for (let k = 0; k < 150; k++) {
        backend.setCurrentKey(k);
        read.push(state.value());
      }
      expect(read).toEqual(
        Array.from({ length: 150 }, (_, k) => (k < 100 && k % 2 === 0 ? undefined : k)),
      );
      expect(backend.keyCount()).toBe(101);
      const listed = [...backend.snapshot().values()].flatMap(
        (tables) => tables['v']?.entries ?? [],
      );
      expect(listed.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual(
        [...read.entries()]
          .filter(([, v]) => v !== undefined)
          .map(([k]): [Key, unknown] => [k, k])
          .concat([['s', -1]])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
    }
    const backend = tracked();
    const state = backend.valueState<number>('v');
    for (let k = 0; k < 3; k++) {
      backend.setCurrentKey(k);
      state.update(k);
    }
    backend.captureChanges();
    backend.setCurrentKey(1);
    state.clear();
    backend.captureChanges();
    backend.setCurrentKey(7);
    state.update(7); // takes key 1's slot
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: { puts: [[7, 7]], deletes: [] },
    });
  });

  it('dropped key groups lose their state and their uncaptured changes; their slots are reused', () => {
    const backend = tracked();
    const state = backend.valueState<number>('v');
    const groupOf = (k: number): number => keyGroupOf(k, 8);
    for (let k = 0; k < 50; k++) {
      backend.setCurrentKey(k);
      state.update(k);
    }
    backend.captureChanges();
    for (let k = 0; k < 50; k += 5) {
      backend.setCurrentKey(k);
      if (k % 10 === 0) state.clear();
      else state.update(-k);
    }
    const dropped = new Set([groupOf(0), groupOf(5)]);
    backend.dropKeyGroups(dropped);
    backend.dropKeyGroups(dropped); // again: nothing left to drop, no slot freed twice
    const kept = (k: number): boolean => !dropped.has(groupOf(k));
    expect(captured(backend.captureChanges().groups)).toEqual({
      v: {
        puts: [5, 15, 25, 35, 45]
          .filter(kept)
          .map((k): [Key, unknown] => [k, -k])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
        deletes: [0, 10, 20, 30, 40]
          .filter(kept)
          .sort((a, b) => String(a).localeCompare(String(b))),
      },
    });
    for (let k = 100; k < 150; k++) {
      backend.setCurrentKey(k);
      state.update(k);
    }
    const read: (number | undefined)[] = [];
    for (let k = 0; k < 150; k++) {
      backend.setCurrentKey(k);
      read.push(state.value());
    }
    const expected = (k: number): number | undefined => {
      if (k >= 100) return k;
      if (k >= 50 || !kept(k) || k % 10 === 0) return undefined;
      return k % 5 === 0 ? -k : k;
    };
    expect(read).toEqual(Array.from({ length: 150 }, (_, k) => expected(k)));
    expect(backend.keyCount()).toBe(read.filter((v) => v !== undefined).length);
  });
});
