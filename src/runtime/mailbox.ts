/** Actions posted to a task from outside (coordinator, timers); run on the task's own loop, in order. */
export type MailboxAction = () => void | Promise<void>;

export class Mailbox {
  private queue: MailboxAction[] = [];
  private waiter: (() => void) | undefined;

  post(action: MailboxAction): void {
    this.queue.push(action);
    this.wake();
  }

  get isEmpty(): boolean {
    return this.queue.length === 0;
  }

  /** Takes every queued action. */
  drain(): MailboxAction[] {
    const actions = this.queue;
    this.queue = [];
    return actions;
  }

  /** Resolves when an action is posted (or `wake` is called). */
  whenNotEmpty(): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.waiter = resolve));
  }

  wake(): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter();
    }
  }
}
