import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import { TributaryError } from '../errors.js';
import type { CompletedRecord } from './records.js';
import {
  WorkerStateFolder,
  assembleKeyGroups,
  isStreamHandle,
  loadKeyGroups,
  removeWorkerFolders,
  type KeyGroupRange,
  type StateHandle,
} from './state-handles.js';
import { StateStream, type StateStreamClient } from './state-stream.js';

/**
 * Where a keyed cluster job keeps its workers' keyed state (docs/scale-out.md §6 item 1, §8): the
 * cluster worker writes each local checkpoint here before it acks, names it in its piece by the
 * handle it gets back, and restores from the handles of the last completed checkpoint. Two kinds:
 * the job's state stream in Pravega (the default) and a shared directory (`checkpoint.dir`).
 */
export interface ClusterStateStore {
  /** what the store is, for messages (`state stream s/_tributary-state-j`, `checkpoint.dir /x`) */
  readonly where: string;
  /**
   * The folder where this worker's running keyed operators keep incremental state pieces, or
   * undefined: every checkpoint holds its keyed state whole.
   */
  readonly piecesDir: string | undefined;
  /** Gets the store ready (creates it); before the job's tasks run. */
  open(): Promise<void>;
  /** Stores this worker's local checkpoint; `owned` are its key-group ranges. */
  write(data: CheckpointData, owned: readonly (readonly [number, number])[]): Promise<StateHandle>;
  /**
   * Key groups `groups` as of `completed`, checked (STATE_CORRUPT naming worker and position),
   * with the list state of the operators `listState` accepts.
   */
  load(
    completed: CompletedRecord,
    groups: KeyGroupRange,
    listState?: (uid: string) => boolean,
  ): Promise<CheckpointData>;
  /**
   * Drops what no checkpoint at or after `completed` (the latest completed) needs; never what it
   * names. `leader`: this worker also cleans up after the others (a keyed job runs on one).
   */
  retain(completed: CompletedRecord, leader: boolean): Promise<void>;
}

/** Every worker's folder of the shared `checkpoint.dir` (`state-handles.ts`). */
export class DirectoryStateStore implements ClusterStateStore {
  private readonly folder: WorkerStateFolder;

  constructor(root: string, workerId: string) {
    this.folder = new WorkerStateFolder(root, workerId);
  }

  get where(): string {
    return `checkpoint.dir ${this.folder.root}`;
  }

  get piecesDir(): string {
    return this.folder.dir;
  }

  async open(): Promise<void> {
    await this.folder.open();
  }

  write(data: CheckpointData, owned: readonly (readonly [number, number])[]): Promise<StateHandle> {
    return this.folder.write(data, owned);
  }

  load(
    completed: CompletedRecord,
    groups: KeyGroupRange,
    listState?: (uid: string) => boolean,
  ): Promise<CheckpointData> {
    return loadKeyGroups(this.folder.root, completed, groups, listState);
  }

  async retain(completed: CompletedRecord, leader: boolean): Promise<void> {
    await this.folder.retain(completed);
    if (leader) await this.folder.removeOthers(completed);
  }

  /** Removes every worker's folder (the job ended for good). @returns the folder removed */
  static remove(root: string): Promise<string | undefined> {
    return removeWorkerFolders(root);
  }
}

/** The job's state stream in Pravega (`state-stream.ts`): no shared file system needed. */
export class StreamStateStore implements ClusterStateStore {
  readonly stream: StateStream;
  readonly piecesDir = undefined;

  constructor(client: StateStreamClient, scope: string, jobName: string, chunkBytes?: number) {
    this.stream = new StateStream(client, scope, jobName, chunkBytes);
  }

  get where(): string {
    return `state stream ${this.stream.id.scope}/${this.stream.id.stream}`;
  }

  open(): Promise<void> {
    return this.stream.open();
  }

  write(data: CheckpointData, owned: readonly (readonly [number, number])[]): Promise<StateHandle> {
    return this.stream.write(data, owned);
  }

  load(
    completed: CompletedRecord,
    groups: KeyGroupRange,
    listState?: (uid: string) => boolean,
  ): Promise<CheckpointData> {
    return assembleKeyGroups(
      completed,
      groups,
      this.where,
      listState,
      (handle: StateHandle, what) => {
        if (!isStreamHandle(handle))
          throw new TributaryError(
            'STATE_CORRUPT',
            `${what(handle.file)} is in a shared directory, but the job runs without checkpoint.dir: run it as it was written (with that checkpoint.dir)`,
          );
        return this.stream.read(handle, what);
      },
    );
  }

  async retain(completed: CompletedRecord): Promise<void> {
    await this.stream.retain(completed);
  }

  /** Seals and deletes a job's state stream. @returns `scope/stream` removed, if there was one */
  static async remove(
    client: StateStreamClient,
    scope: string,
    jobName: string,
  ): Promise<string | undefined> {
    const stream = new StateStream(client, scope, jobName);
    return (await stream.remove()) ? `${stream.id.scope}/${stream.id.stream}` : undefined;
  }
}
