import { randomUUID } from 'node:crypto';

/** The maintenance windows a simulator went through, oldest first; the last is ongoing while it has no end. */
export class MaintenanceWindows {
  readonly windows: Array<{ id: string; begin: number; end?: number }> = [];

  /** Starts a window (when none is ongoing) or ends the ongoing one. */
  set(on: boolean, now = Date.now()): void {
    const last = this.windows.at(-1);
    const ongoing = last !== undefined && last.end === undefined;
    if (on && !ongoing) this.windows.push({ id: randomUUID(), begin: now });
    if (!on && ongoing) last.end = now;
  }

  /** Whether a window is going on now. */
  ongoing(): boolean {
    const last = this.windows.at(-1);
    return last !== undefined && last.end === undefined;
  }
}
