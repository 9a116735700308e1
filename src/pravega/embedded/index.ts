import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TributaryError } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type { SegmentStore } from '../segment/segment-store.js';
import { EmbeddedController } from './controller.js';
import type { RecoveryReport } from './core.js';
import { EmbeddedCore } from './core.js';
import { acquireLock } from './lock.js';
import type { EmbeddedOptions, EmbeddedOptionsInput } from './options.js';
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
  /**
   * Gives this handle back; the last handle of the process to close writes out everything
   * queued, snapshots the state and releases the directory. Call once (more calls do nothing).
   */
  close(): Promise<void>;
}

/** One open store of a directory, shared by every opener in this process. */
interface SharedStore {
  readonly path: string;
  /** the options it was opened with, as JSON (functions such as the logger left out) */
  readonly optionsKey: string;
  readonly opened: Promise<OpenedStore>;
  refs: number;
  closing?: Promise<void>;
}

interface OpenedStore {
  readonly controller: EmbeddedController;
  readonly segmentStore: EmbeddedSegmentStore;
  readonly recovery: RecoveryReport;
  close(): Promise<void>;
}

const stores = new Map<string, SharedStore>();

/**
 * Opens (or creates) an embedded Pravega store in `dir`: a controller and a segment store behind
 * the same interfaces as a real cluster, durable on the local disk.
 *
 * One process owns a directory (its lock file names the owner's pid; another process gets
 * STORE_LOCKED). Within the owning process every opener of the same directory shares one store,
 * reference-counted: each gets its own handle, and closing the last handle closes the store.
 * Later openers must pass the same options as the first (or none).
 */
export async function openEmbeddedPravega(
  dir: string,
  options?: EmbeddedOptionsInput,
): Promise<EmbeddedPravega> {
  if (typeof dir !== 'string' || dir === '') {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `openEmbeddedPravega: dir must be a non-empty directory path, got ${describe(dir)}`,
    );
  }
  const opts = parseEmbeddedOptions(options);
  const path = resolve(dir);
  const optionsKey = JSON.stringify(opts);
  for (;;) {
    const current = stores.get(path);
    if (current?.closing) {
      // the last holder is closing it right now: wait, then open it anew
      await current.closing.catch(() => undefined);
      if (stores.get(path) === current) stores.delete(path);
      continue;
    }
    let shared = current;
    if (shared === undefined) {
      const created: SharedStore = { path, optionsKey, opened: openStore(path, opts), refs: 0 };
      stores.set(path, created);
      created.opened.catch(() => {
        if (stores.get(path) === created) stores.delete(path);
      });
      shared = created;
    } else if (options !== undefined && shared.optionsKey !== optionsKey) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `embedded Pravega in ${path} is already open in this process with other options; ` +
          `open it with the same options (or none) to share it`,
        { details: { path } },
      );
    }
    shared.refs++;
    let opened: OpenedStore;
    try {
      opened = await shared.opened;
    } catch (err) {
      shared.refs--;
      throw err;
    }
    return handleOf(shared, opened);
  }
}

function handleOf(shared: SharedStore, opened: OpenedStore): EmbeddedPravega {
  let released: Promise<void> | undefined;
  return {
    controller: opened.controller,
    segmentStore: opened.segmentStore,
    recovery: opened.recovery,
    dir: shared.path,
    close: () => {
      released ??= (async () => {
        if (--shared.refs > 0) return;
        shared.closing = opened.close();
        try {
          await shared.closing;
        } finally {
          if (stores.get(shared.path) === shared) stores.delete(shared.path);
        }
      })();
      return released;
    },
  };
}

async function openStore(path: string, opts: EmbeddedOptions): Promise<OpenedStore> {
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
  return {
    controller,
    segmentStore,
    recovery,
    close: async () => {
      await controller.close();
      await segmentStore.close();
      try {
        await core.close();
      } finally {
        await release();
      }
    },
  };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}
