import { keyText } from '../../../src/runtime/key-groups.js';
import type { KeyedStateSnapshot } from '../../../src/runtime/keyed-state.js';

/**
 * A full snapshot in a canonical order: key groups, tables and keys sorted. The order in which
 * a backend lists keys is not part of its contract (the disk backend lists them by stored key,
 * the heap backend by slot, and slots of deleted keys are reused).
 */
export function canonical(snapshot: Map<number, KeyedStateSnapshot>): unknown {
  return [...snapshot]
    .sort(([a], [b]) => a - b)
    .map(([group, tables]) => [
      group,
      Object.entries(tables)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, { kind, entries }]) => [
          name,
          kind,
          [...entries].sort(([a], [b]) => keyText(a).localeCompare(keyText(b))),
        ]),
    ]);
}
