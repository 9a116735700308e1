import type { InputGate } from './input-gate.js';
import { Task, type TaskSetup } from './task.js';

/** A task fed by network channels (everything that is not a source). */
export class StreamTask extends Task {
  constructor(
    setup: TaskSetup,
    private readonly gate: InputGate,
  ) {
    super(setup);
  }

  override get watermark(): number {
    return this.gate.watermark;
  }

  override get inputIdle(): boolean {
    return this.gate.allIdle;
  }

  protected wakeInput(): void {
    this.gate.wake();
  }

  protected override async onCheckpointAborted(checkpointId: number): Promise<void> {
    this.gate.abortCheckpoint(checkpointId);
  }

  protected async loop(): Promise<void> {
    const gate = this.gate;
    const input = this.chainInput;
    while (!this.stopped) {
      if (!this.mailbox.isEmpty) {
        await this.runMailbox();
        continue;
      }
      if (this.finishRequested) return;
      if (this.isBackpressured()) {
        await this.waitForOutput();
        continue;
      }
      const pause = this.yieldIfBusy();
      if (pause !== undefined) {
        await pause;
        continue;
      }
      const event = gate.poll();
      if (event === undefined) {
        await Promise.race([gate.whenAvailable(), this.mailbox.whenNotEmpty()]);
        continue;
      }
      switch (event.kind) {
        case 'records':
          this.recordsIn += event.values.length;
          input.emitBatch(event.values, event.timestamps);
          await this.drainOperators();
          break;
        case 'watermark':
          input.emitWatermark(event.timestamp);
          await this.drainOperators();
          break;
        case 'idle':
          input.emitIdle(event.idle);
          break;
        case 'barrier':
          await this.performCheckpoint(event.checkpointId);
          break;
        case 'key-groups':
          await this.applyKeyGroupControl(event.control);
          break;
        case 'end':
          await this.endOfInput();
          break;
      }
    }
  }
}
