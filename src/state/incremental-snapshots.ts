import { dirname, resolve } from 'node:path';
import { TributaryError, errorMessage } from '../errors.js';
import type { StateValue } from '../checkpoint/state-codec.js';
import type { ChangedKeys, KeyedStateBackend } from '../runtime/keyed-state.js';
import { readPieceSection, toStoredRef, writePieceFile, type PieceRef } from './state-pieces.js';
import { mergeSections, packSection, unpackSection, type SectionTables } from './state-sections.js';

/** What the barrier captured, to be written off the hot path. */
interface Capture {
  readonly checkpointId: number;
  readonly generation: number;
  readonly changed: ChangedKeys;
  /** encoded changes per key group */
  readonly deltas: Map<number, Buffer>;
  /** extra per-key-group data recorded inline in the checkpoint (timers) */
  readonly inline: Map<number, StateValue>;
}

export interface IncrementalSnapshotsSetup {
  /** `<checkpoint dir>/state` */
  readonly dir: string;
  readonly uid: string;
  readonly subtask: number;
  /** a chain is consolidated after about this many pieces */
  readonly consolidateEvery: number;
  readonly backend: KeyedStateBackend;
}

/**
 * Incremental, asynchronous checkpoints of one keyed operator subtask's heap state.
 *
 * At a barrier only the keys changed since the previous barrier are encoded (msgpack, one
 * section per key group); the task then goes on while the sections are written to a piece file
 * and fsynced. Each key group has a chain of pieces: a full one, then deltas. After about
 * `consolidateEvery` pieces (staggered over key groups) or when the deltas outweigh the full
 * piece, the chain is folded — from the immutable pieces on disk, not from live state — into a
 * new full piece, so restore reads a bounded amount; a checkpoint folds at most a
 * `1/consolidateEvery` share of the key groups (see `toConsolidate`). Writes are sequential; if one fails, it and
 * every capture queued behind it is declined and their keys count as changed again, so the next
 * checkpoint carries them on top of the last chain that was written.
 */
export class IncrementalSnapshots {
  private readonly dir: string;
  private chains = new Map<number, PieceRef[]>();
  private writes: Promise<unknown> = Promise.resolve();
  private generation = 0;

  constructor(private readonly setup: IncrementalSnapshotsSetup) {
    this.dir = resolve(setup.dir);
  }

  /** The chain of a restored key group (already read into the backend). */
  restoreChain(group: number, chain: readonly PieceRef[]): void {
    this.chains.set(group, [...chain]);
  }

  /**
   * Captures the changes now (cost ∝ changed keys) and returns the key groups to record once
   * their pieces are durable: `{ chain, ...inline }` per key group.
   */
  snapshot(
    checkpointId: number,
    inline: Map<number, StateValue>,
  ): Promise<ReadonlyMap<number, StateValue>> {
    const { changed, groups } = this.setup.backend.captureChanges();
    const deltas = new Map<number, Buffer>();
    for (const [group, tables] of groups) deltas.set(group, packSection(tables));
    const capture: Capture = { checkpointId, generation: this.generation, changed, deltas, inline };
    const written = this.writes.then(() => this.write(capture));
    this.writes = written.catch(() => undefined);
    return written;
  }

  private async write(capture: Capture): Promise<ReadonlyMap<number, StateValue>> {
    if (capture.generation !== this.generation) {
      this.setup.backend.markChanged(capture.changed);
      throw new TributaryError(
        'CHECKPOINT_FAILED',
        `state of ${this.setup.uid}[${this.setup.subtask}] not written: an earlier state write failed`,
      );
    }
    try {
      const chains = new Map(this.chains);
      const sections: { group: number; bytes: Buffer; kind: 'full' | 'delta' }[] = [];
      const groups = new Set([...capture.deltas.keys(), ...this.foreignGroups()]);
      const fold = this.toConsolidate(chains, capture.deltas);
      for (const group of groups) {
        const chain = chains.get(group) ?? [];
        const delta = capture.deltas.get(group);
        if (chain.length === 0) {
          if (delta !== undefined) sections.push({ group, bytes: delta, kind: 'full' });
        } else if (fold.has(group)) {
          sections.push({
            group,
            bytes: await this.consolidate(group, chain, delta),
            kind: 'full',
          });
          await yieldToLoop(); // merging is CPU work: let the task run between key groups
        } else if (delta !== undefined) {
          sections.push({ group, bytes: delta, kind: 'delta' });
        }
      }
      if (sections.length > 0) {
        const refs = await writePieceFile(
          this.dir,
          capture.checkpointId,
          this.setup.subtask,
          this.setup.uid,
          sections,
        );
        sections.forEach(({ group, kind }, i) => {
          const ref = refs[i] as PieceRef;
          chains.set(group, kind === 'full' ? [ref] : [...(chains.get(group) ?? []), ref]);
        });
      }
      this.chains = chains;
      const keyGroups = new Map<number, StateValue>();
      for (const group of new Set([...chains.keys(), ...capture.inline.keys()])) {
        const inline = capture.inline.get(group) as Record<string, StateValue> | undefined;
        keyGroups.set(group, {
          ...inline,
          chain: (chains.get(group) ?? []).map((ref) => ({ ...toStoredRef(ref) })),
        });
      }
      return keyGroups;
    } catch (err) {
      this.generation++;
      this.setup.backend.markChanged(capture.changed);
      throw new TributaryError(
        'CHECKPOINT_FAILED',
        `writing the state of ${this.setup.uid}[${this.setup.subtask}] for checkpoint ${capture.checkpointId} failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  /** Key groups whose chain still points into another checkpoint directory (after restoreFrom). */
  private foreignGroups(): number[] {
    const groups: number[] = [];
    for (const [group, chain] of this.chains) {
      if (chain.some((ref) => dirname(ref.path) !== this.dir)) groups.push(group);
    }
    return groups;
  }

  /**
   * Key groups to fold at this checkpoint: those whose chain points into another directory
   * (always), then — at most `ceil(groups / consolidateEvery)` per checkpoint, so that folding
   * never costs more than a share of the state at once — the chains that are long (staggered over
   * key groups) or whose deltas outweigh their full piece, heaviest first. A chain three times
   * `consolidateEvery` long is folded whatever the budget.
   */
  private toConsolidate(
    chains: ReadonlyMap<number, PieceRef[]>,
    deltas: ReadonlyMap<number, Buffer>,
  ): Set<number> {
    const every = this.setup.consolidateEvery;
    const chosen = new Set<number>();
    const candidates: { group: number; weight: number }[] = [];
    for (const [group, chain] of chains) {
      if (chain.length === 0) continue;
      if (chain.some((ref) => dirname(ref.path) !== this.dir)) {
        chosen.add(group);
        continue;
      }
      const delta = deltas.get(group);
      if (delta === undefined) continue;
      if (chain.length + 1 >= 3 * every) {
        chosen.add(group);
        continue;
      }
      const base = chain[0]?.bytes ?? 0;
      let deltaBytes = delta.length;
      for (let i = 1; i < chain.length; i++) deltaBytes += (chain[i] as PieceRef).bytes;
      const long = chain.length + 1 >= every + (group % every);
      const heavy = deltaBytes > 2 * base + 4096;
      if (long || heavy) candidates.push({ group, weight: deltaBytes / (base + 1) + chain.length });
    }
    const budget = Math.max(1, Math.ceil(chains.size / every));
    candidates.sort((a, b) => b.weight - a.weight);
    for (const { group } of candidates.slice(0, Math.max(0, budget - chosen.size)))
      chosen.add(group);
    return chosen;
  }

  private async consolidate(
    group: number,
    chain: readonly PieceRef[],
    delta: Buffer | undefined,
  ): Promise<Buffer> {
    const sections: SectionTables[] = [];
    for (const ref of chain) {
      const what = `operator ${this.setup.uid}, key group ${group}`;
      sections.push(
        unpackSection(await readPieceSection(ref, what), `state piece ${ref.path} (${what})`),
      );
    }
    if (delta !== undefined) sections.push(unpackSection(delta, 'captured changes'));
    return packSection(mergeSections(sections));
  }
}

/** Reads a key group's chain into the backend; every piece is verified. */
export async function readChain(
  backend: KeyedStateBackend,
  chain: readonly PieceRef[],
  what: string,
): Promise<void> {
  if (chain.length > 0 && chain[0]?.kind !== 'full')
    throw new TributaryError(
      'STATE_CORRUPT',
      `${what}: the chain of state pieces does not start with a full piece (${chain[0]?.path})`,
    );
  for (const ref of chain) {
    backend.applySection(
      unpackSection(await readPieceSection(ref, what), `state piece ${ref.path} (${what})`),
    );
  }
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
