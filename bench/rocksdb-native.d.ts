/** The part of `rocksdb-native` (no bundled types) that bench/disk-stores.ts uses. */
declare module 'rocksdb-native' {
  interface Batch {
    get(key: Buffer): Promise<Buffer | null>;
    put(key: Buffer, value: Buffer): void;
    tryFlush(): void;
    flush(): Promise<void>;
  }
  interface Session {
    read(options?: { autoDestroy?: boolean }): Batch;
    write(options?: { autoDestroy?: boolean }): Batch;
    close(): Promise<void>;
  }
  export default class RocksDB implements Session {
    constructor(path: string);
    ready(): Promise<void>;
    read(options?: { autoDestroy?: boolean }): Batch;
    write(options?: { autoDestroy?: boolean }): Batch;
    snapshot(): Session;
    close(): Promise<void>;
  }
}
