import { WireCommandType } from '../constants.js';
import type { CommandCodec } from './codec.js';

/** Version handshake; both sides send it first. Its request id counts as 0. */
export interface Hello {
  readonly type: 'hello';
  readonly highVersion: number;
  readonly lowVersion: number;
}

/** Liveness probe; the server echoes it. Its request id counts as −1. */
export interface KeepAlive {
  readonly type: 'keepAlive';
}

/** Hello (−127): int highVersion, int lowVersion */
export const helloCodec: CommandCodec<Hello> = {
  code: WireCommandType.HELLO,
  type: 'hello',
  name: 'Hello',
  kind: 'both',
  write(w, c) {
    w.int32(c.highVersion, 'highVersion');
    w.int32(c.lowVersion, 'lowVersion');
  },
  read(r) {
    const highVersion = r.int32('highVersion');
    const lowVersion = r.int32('lowVersion');
    return { type: 'hello', highVersion, lowVersion };
  },
};

/** KeepAlive (100): empty payload */
export const keepAliveCodec: CommandCodec<KeepAlive> = {
  code: WireCommandType.KEEP_ALIVE,
  type: 'keepAlive',
  name: 'KeepAlive',
  kind: 'both',
  write() {},
  read() {
    return { type: 'keepAlive' };
  },
};
