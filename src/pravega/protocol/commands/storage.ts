import { WireCommandType } from '../constants.js';
import type { CommandCodec } from './codec.js';

/** Admin-port commands (the segment store's admin endpoint; not used by stream clients). */

export interface FlushToStorage {
  readonly type: 'flushToStorage';
  readonly containerId: number;
  readonly delegationToken: string;
  readonly requestId: bigint;
}

/** Java: StorageFlushed (wire type FLUSHED_TO_STORAGE). */
export interface FlushedToStorage {
  readonly type: 'flushedToStorage';
  readonly requestId: bigint;
}

export interface ListStorageChunks {
  readonly type: 'listStorageChunks';
  readonly segment: string;
  readonly delegationToken: string;
  readonly requestId: bigint;
}

export interface ChunkInfo {
  readonly lengthInMetadata: bigint;
  readonly lengthInStorage: bigint;
  readonly startOffset: bigint;
  readonly chunkName: string;
  readonly existsInStorage: boolean;
}

export interface StorageChunksListed {
  readonly type: 'storageChunksListed';
  readonly requestId: bigint;
  readonly chunks: readonly ChunkInfo[];
}

/** FlushToStorage (−3): int containerId, String delegationToken, long requestId */
export const flushToStorageCodec: CommandCodec<FlushToStorage> = {
  code: WireCommandType.FLUSH_TO_STORAGE,
  type: 'flushToStorage',
  name: 'FlushToStorage',
  kind: 'request',
  write(w, c) {
    w.int32(c.containerId, 'containerId');
    w.utf(c.delegationToken, 'delegationToken');
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({
    type: 'flushToStorage',
    containerId: r.int32('containerId'),
    delegationToken: r.utf('delegationToken'),
    requestId: r.int64('requestId'),
  }),
};

/** FlushedToStorage (−4): long requestId */
export const flushedToStorageCodec: CommandCodec<FlushedToStorage> = {
  code: WireCommandType.FLUSHED_TO_STORAGE,
  type: 'flushedToStorage',
  name: 'StorageFlushed',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({ type: 'flushedToStorage', requestId: r.int64('requestId') }),
};

/** ListStorageChunks (−5): String segment, String delegationToken, long requestId */
export const listStorageChunksCodec: CommandCodec<ListStorageChunks> = {
  code: WireCommandType.LIST_STORAGE_CHUNKS,
  type: 'listStorageChunks',
  name: 'ListStorageChunks',
  kind: 'request',
  write(w, c) {
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({
    type: 'listStorageChunks',
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    requestId: r.int64('requestId'),
  }),
};

/**
 * StorageChunksListed (−6): long requestId, int n, n × ChunkInfo (long lengthInMetadata,
 * long lengthInStorage, long startOffset, String chunkName, bool existsInStorage)
 */
export const storageChunksListedCodec: CommandCodec<StorageChunksListed> = {
  code: WireCommandType.STORAGE_CHUNKS_LISTED,
  type: 'storageChunksListed',
  name: 'StorageChunksListed',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.int32(c.chunks.length, 'chunks.count');
    for (const k of c.chunks) {
      w.int64(k.lengthInMetadata, 'chunks.lengthInMetadata');
      w.int64(k.lengthInStorage, 'chunks.lengthInStorage');
      w.int64(k.startOffset, 'chunks.startOffset');
      w.utf(k.chunkName, 'chunks.chunkName');
      w.bool(k.existsInStorage, 'chunks.existsInStorage');
    }
  },
  read(r) {
    const requestId = r.int64('requestId');
    const n = r.listCount('chunks.count', 27);
    const chunks: ChunkInfo[] = [];
    for (let i = 0; i < n; i++) {
      chunks.push({
        lengthInMetadata: r.int64('chunks.lengthInMetadata'),
        lengthInStorage: r.int64('chunks.lengthInStorage'),
        startOffset: r.int64('chunks.startOffset'),
        chunkName: r.utf('chunks.chunkName'),
        existsInStorage: r.bool('chunks.existsInStorage'),
      });
    }
    return { type: 'storageChunksListed', requestId, chunks };
  },
};
