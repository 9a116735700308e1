/** What the exchange crash test and its child job (exchange-job.ts) share. */
export interface ExchangeJobArgs {
  pravega: string;
  scope: string;
  input: string;
  output: string;
  end: string;
  checkpointDir: string;
  ratePerSecond: number;
  parallelism: number;
  exchange: boolean;
  jobName: string;
  /**
   * When set, each input reader joins its reader group this long after it got its split, so that
   * the first checkpoints are triggered before the readers are in the group (a slow machine or
   * server does the same).
   */
  readerJoinDelayMs?: number;
}

/** One window's count for one key. */
export interface WindowCount {
  key: string;
  start: number;
  count: number;
}

/** Tumbling event-time windows (event time = the sequence number, in ms). */
export const WINDOW_MS = 50;
