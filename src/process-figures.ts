import { readdirSync, readlinkSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The daemon process's resource use, as `/status` shows it (`process`). */
export interface ProcessFigures {
  /** CPU time (user + system) over the last ~10 s as a share of wall time: 100 = one core busy. */
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /**
   * How late the event loop ran a timer, median and 99th percentile, over the last few seconds; the
   * sampling timer's own period is taken off (prom-client's `nodejs_eventloop_lag_*` keep it in).
   */
  eventLoopLagMs: { p50: number; p99: number };
  /** Open file descriptors (/proc/self/fd); null where there is no /proc. */
  openFds: number | null;
  /**
   * Open sockets of every kind (TCP, Unix): the `socket:[…]` links of /proc/self/fd, which also
   * show sockets that no longer keep the event loop alive. Without /proc: the TCP, UDP and pipe
   * handles of process.getActiveResourcesInfo(), which miss those.
   */
  openSockets: number;
}

/** How often CPU and the event-loop window are sampled (ms). */
const SAMPLE_EVERY_MS = 5_000;
/** Descriptors are read again when asked for after this long (ms): often enough for a page polling /status, never per request. */
const DESCRIPTORS_MAX_AGE_MS = 1_000;
/** CPU is measured over this much wall time (the samples it spans). */
const CPU_WINDOW_MS = 10_000;
/** The event-loop delay sampling period (ms): also prom-client's default. */
const LAG_RESOLUTION_MS = 10;
const FD_DIR = '/proc/self/fd';

/**
 * Samples the process's figures on an unref'd timer between `start` and `stop`: CPU as the change
 * of process.cpuUsage() across the last ~10 s, event-loop delay from a histogram that is read and
 * reset every sample (so it tells of now, not of the whole run). Memory is read at each call of
 * `current`; descriptors and sockets too (a readlink per descriptor), at most once a second.
 */
export class ProcessFiguresSampler {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  /** (wall ms, CPU µs) samples spanning the CPU window. */
  private readonly cpu: Array<[number, number]> = [];
  /** The last complete event-loop window; undefined until one is. */
  private lag: ProcessFigures['eventLoopLagMs'] | undefined;
  private descriptors: Pick<ProcessFigures, 'openFds' | 'openSockets'> | undefined;
  private descriptorsReadAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.cpu.push([Date.now(), cpuMicros()]);
  }

  /** Starts sampling; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
  }

  current(now = Date.now()): ProcessFigures {
    const { rss, heapUsed, heapTotal } = process.memoryUsage();
    const [since, cpuThen] = this.cpu[0]!;
    const wallMs = now - since;
    return {
      // CPU µs per wall ms: / 1000 for a share, × 100 for percent.
      cpuPercent: wallMs < 100 ? 0 : round(((cpuMicros() - cpuThen) / 10) / wallMs),
      rssBytes: rss,
      heapUsedBytes: heapUsed,
      heapTotalBytes: heapTotal,
      eventLoopLagMs: this.lag ?? lagOf(this.histogram),
      ...this.readDescriptors(now),
    };
  }

  private sample(now = Date.now()): void {
    this.cpu.push([now, cpuMicros()]);
    while (this.cpu.length > 2 && now - this.cpu[1]![0] >= CPU_WINDOW_MS) this.cpu.shift();
    this.lag = lagOf(this.histogram);
    this.histogram.reset();
  }

  private readDescriptors(now: number): Pick<ProcessFigures, 'openFds' | 'openSockets'> {
    if (!this.descriptors || now - this.descriptorsReadAt >= DESCRIPTORS_MAX_AGE_MS) {
      this.descriptors = readDescriptors();
      this.descriptorsReadAt = now;
    }
    return this.descriptors;
  }
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Median and p99 of the histogram in ms, less the sampling period; zeros while it has no sample. */
function lagOf(histogram: IntervalHistogram): ProcessFigures['eventLoopLagMs'] {
  if (histogram.count === 0) return { p50: 0, p99: 0 };
  const ms = (p: number) => round(Math.max(0, histogram.percentile(p) / 1e6 - LAG_RESOLUTION_MS));
  return { p50: ms(50), p99: ms(99) };
}

/** Descriptors and sockets from /proc/self/fd, or the active handles where there is no /proc. */
function readDescriptors(): Pick<ProcessFigures, 'openFds' | 'openSockets'> {
  let fds: string[];
  try {
    fds = readdirSync(FD_DIR);
  } catch {
    return { openFds: null, openSockets: process.getActiveResourcesInfo().filter((r) => /^(TCP|UDP|Pipe)/.test(r)).length };
  }
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`${FD_DIR}/${fd}`).startsWith('socket:')) sockets += 1;
    } catch {
      // Closed since it was listed: the directory's own descriptor, for one.
    }
  }
  // Less the descriptor that listed the directory (gone by now, as prom-client's process_open_fds counts).
  return { openFds: fds.length - 1, openSockets: sockets };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
