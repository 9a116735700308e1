/** Checkpoint progress, as reported in job events. */
export type CheckpointEvent =
  | {
      readonly type: 'checkpoint-triggered';
      readonly checkpointId: number;
      readonly final: boolean;
      readonly time: number;
    }
  | {
      readonly type: 'checkpoint-completed';
      readonly checkpointId: number;
      readonly final: boolean;
      readonly durationMs: number;
      readonly stateBytes: number;
      /** The checkpoint file, when checkpoints go to a directory. */
      readonly path: string | undefined;
      readonly time: number;
    }
  | {
      readonly type: 'checkpoint-aborted';
      readonly checkpointId: number;
      readonly final: boolean;
      readonly durationMs: number;
      readonly reason: string;
      readonly time: number;
    };
