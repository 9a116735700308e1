import { dirname } from 'node:path';
import { readPieceSectionSync, type PieceRef } from './state-pieces.js';
import { mergeSections, packSection, unpackSection, type SectionTables } from './state-sections.js';

/**
 * One fold of a key group's chain: the pieces `refs` (a run of the chain, oldest first) read,
 * verified and merged into one section — a `full` one when the run starts with the full piece,
 * or one `delta` standing for several increments (the full piece stays).
 */
export interface FoldJob {
  readonly group: number;
  /** index in the chain of the first folded piece: 0 (→ full) or 1 (→ one delta) */
  readonly from: number;
  readonly refs: readonly PieceRef[];
  /** names the operator and key group in errors */
  readonly what: string;
}

/**
 * Reads, verifies and merges the pieces of a fold (plus `extra`, newer, if given), synchronously
 * (see `readPieceSectionSync`).
 */
export function foldPieces(job: FoldJob, extra?: SectionTables): Buffer {
  const sections: SectionTables[] = [];
  for (const ref of job.refs) {
    const bytes = readPieceSectionSync(ref, job.what);
    sections.push(unpackSection(bytes, `state piece ${ref.path} (${job.what})`));
  }
  if (extra !== undefined) sections.push(extra);
  return packSection(mergeSections(sections, job.from === 0 ? 'full' : 'delta'));
}

/**
 * The folds worth doing in the background for these chains, biggest gain first, reading at most
 * about `budgetBytes`:
 * - deltas outweigh the full piece → rewrite the whole chain as one full piece (rare when a hot
 *   set of keys changes: its deltas overlap, see below; common while state grows);
 * - `every` deltas or more → merge the deltas into one delta (cost ∝ the deltas, not the state;
 *   the full piece is left alone).
 * So restore reads at most about twice a key group's state in a bounded number of pieces, and a
 * steady workload never rewrites its whole state.
 */
export function planFolds(
  chains: ReadonlyMap<number, readonly PieceRef[]>,
  every: number,
  budgetBytes: number,
  what: (group: number) => string,
  ownDir: string,
): FoldJob[] {
  const candidates: { job: FoldJob; bytes: number; gain: number }[] = [];
  for (const [group, chain] of chains) {
    if (chain.length < 2 || chain.some((ref) => dirname(ref.path) !== ownDir)) continue;
    const base = (chain[0] as PieceRef).bytes;
    let deltaBytes = 0;
    for (let i = 1; i < chain.length; i++) deltaBytes += (chain[i] as PieceRef).bytes;
    if (deltaBytes > base + 4096) {
      const job = { group, from: 0, refs: chain, what: what(group) };
      candidates.push({ job, bytes: base + deltaBytes, gain: deltaBytes / (base + 1) + 2 });
    } else if (chain.length - 1 >= Math.max(2, every)) {
      const job = { group, from: 1, refs: chain.slice(1), what: what(group) };
      candidates.push({ job, bytes: deltaBytes, gain: (chain.length - 1) / every });
    }
  }
  candidates.sort((a, b) => b.gain - a.gain);
  const jobs: FoldJob[] = [];
  let bytes = 0;
  for (const c of candidates) {
    if (jobs.length > 0 && bytes + c.bytes > budgetBytes) continue;
    jobs.push(c.job);
    bytes += c.bytes;
  }
  return jobs;
}
