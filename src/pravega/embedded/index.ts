import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TributaryError } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type { SegmentStore } from '../segment/segment-store.js';
import { EmbeddedController } from './controller.js';
import type { RecoveryReport } from './core.js';
import { EmbeddedCore } from './core.js';
import { acquireLock } from './lock.js';
import type { EmbeddedOptionsInput } from './options.js';
import { parseEmbeddedOptions } from './options.js';
import { EmbeddedSegmentStore } from './segment-store.js';

export type { RecoveryReport } from './core.js';
export type { EmbeddedLogger, EmbeddedOptionsInput as EmbeddedOptions } from './options.js';
export { EMBEDDED_ENDPOINT } from './controller.js';

export interface EmbeddedPravega {
  readonly controller: Controller;
  readonly segmentStore: SegmentStore;
  /** What opening the directory found: replayed records, a cut tail, … */
  readonly recovery: RecoveryReport;
  readonly dir: string;
  /** Writes out everything queued, snapshots the state, releases the directory. */
  close(): Promise<void>;
}

/**
 * Opens (or creates) an embedded Pravega store in `dir`: a controller and a segment store behind
 * the same interfaces as a real cluster, durable on the local disk. One process at a time.
 */
export async function openEmbeddedPravega(
  dir: string,
  options?: EmbeddedOptionsInput,
): Promise<EmbeddedPravega> {
  const opts = parseEmbeddedOptions(options);
  const path = resolve(dir);
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw new TributaryError('STORE_IO', `cannot create directory ${path}: ${String(err)}`, {
      cause: err,
    });
  }
  const release = await acquireLock(path);
  let core: EmbeddedCore;
  let recovery: RecoveryReport;
  try {
    ({ core, report: recovery } = await EmbeddedCore.open(path, opts));
  } catch (err) {
    await release();
    if (TributaryError.is(err)) throw err;
    throw new TributaryError(
      'STORE_IO',
      `cannot open embedded Pravega in ${path}: ${String(err)}`,
      {
        cause: err,
      },
    );
  }
  const controller = new EmbeddedController(core, opts);
  const segmentStore = new EmbeddedSegmentStore(core);
  let closing: Promise<void> | undefined;
  return {
    controller,
    segmentStore,
    recovery,
    dir: path,
    close: () => {
      closing ??= (async () => {
        await controller.close();
        await segmentStore.close();
        try {
          await core.close();
        } finally {
          await release();
        }
      })();
      return closing;
    },
  };
}
