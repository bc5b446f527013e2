/**
 * Shared helpers for benchmarks: env knobs, percentiles, progress on stderr, and the
 * report (a table on stdout plus one JSON line for machines).
 *
 * Benchmarks report RATIOS against a ceiling or a peer measured in the same run; they
 * assert nothing about speed (a bench is not a test).
 */

/** One reported figure, compared with a ceiling or a peer measured in the same run. */
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  /** What `refValue` is (e.g. "raw better-sqlite3 ceiling"); absent for reference-only rows. */
  ref?: string;
  refValue?: number;
  /**
   * Speed relative to the reference, 1.0 = as fast as it: value / ref for throughputs,
   * ref / value for latencies (lower is better).
   */
  ratio?: number;
}

/** Whether a lower value is better for this unit (latencies). */
export const lowerIsBetter = (unit: string) => unit === 'ms' || unit === 'µs' || unit === 's';

/**
 * Builds a row; the ratio is oriented so that > 1 is faster than the reference. `ratio`
 * overrides value/ref, e.g. with the median of per-round ratios (each measured back to back,
 * so less exposed to a noisy machine than the ratio of two medians).
 */
export function row(metric: string, value: number, unit: string, ref?: { name: string; value: number }, ratio?: number): BenchRow {
  if (!ref) return { metric, value, unit };
  ratio ??= lowerIsBetter(unit) ? ref.value / value : value / ref.value;
  return { metric, value, unit, ref: ref.name, refValue: ref.value, ratio };
}

/** Per-round ratios a[i] / b[i]. */
export const pairedRatios = (a: readonly number[], b: readonly number[]) => a.map((x, i) => x / b[i]!);

/** A positive integer from the environment, or the default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${name}=${JSON.stringify(raw)}: expected a positive integer`);
  }
  return n;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** A progress line on stderr (stdout carries only the report). */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function fmt(n: number | undefined, unit = ''): string {
  if (n === undefined || Number.isNaN(n)) return '—';
  if (unit === 'ratio') return n.toFixed(2);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(3);
  return n.toFixed(4);
}

/** Prints the rows as an aligned table on stdout. */
export function printTable(title: string, rows: readonly BenchRow[]): void {
  const header = ['metric', 'value', 'unit', 'ceiling / peer', 'ref value', 'ratio'];
  const cells = rows.map((r) => [r.metric, fmt(r.value), r.unit, r.ref ?? '', fmt(r.refValue), r.ratio === undefined ? '' : fmt(r.ratio, 'ratio')]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = new Set([1, 4, 5]);
  const line = (c: string[]) => c.map((s, i) => (right.has(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  console.log('\nratio = speed relative to the ceiling/peer measured in this run (1.00 = as fast; latencies: ref ms / value ms);');
  console.log('with several rounds, value and ref value are medians and ratio is the median of per-round ratios.');
}

/** Issue 3 part 8's targets for every storage backend. */
export const TARGETS = {
  /** Samples/s stored through the backend, as a share of the raw ceiling measured in the same run. */
  writeRatio: 0.7,
  /** p50 of fetching a day of 1m klines (1,440 × 5 fields), loopback. */
  fetchDayP50Ms: 5,
} as const;

/** One target checked against a reported row. */
export interface TargetCheck {
  metric: string;
  /** What was compared: the row's ratio or its value. */
  of: 'ratio' | 'value';
  op: '>=' | '<';
  threshold: number;
  actual: number;
  /** The row's unit when the value is compared ('' for ratios). */
  unit: string;
  met: boolean;
}

/** Checks a row's ratio (`of: 'ratio'`) or value against a threshold; a missing row is reported unmet (NaN). */
export function checkTarget(rows: readonly BenchRow[], metric: string, of: 'ratio' | 'value', op: '>=' | '<', threshold: number): TargetCheck {
  const found = rows.find((r) => r.metric === metric);
  const actual = (of === 'ratio' ? found?.ratio : found?.value) ?? NaN;
  const unit = of === 'ratio' ? '' : (found?.unit ?? '');
  return { metric, of, op, threshold, actual, unit, met: op === '>=' ? actual >= threshold : actual < threshold };
}

/** Prints the target checks under the table (stdout); `source` names where the targets come from. */
export function printTargets(checks: readonly TargetCheck[], source = 'issue 3 part 8'): void {
  if (checks.length === 0) return;
  console.log(`\ntargets (${source}):`);
  const width = Math.max(...checks.map((c) => c.metric.length));
  for (const c of checks) {
    const unit = c.unit ? ` ${c.unit}` : '';
    console.log(`  ${c.met ? 'MET   ' : 'MISSED'}  ${c.metric.padEnd(width)}  ${c.of} ${fmt(c.actual, c.of === 'ratio' ? 'ratio' : '')}${unit} (target ${c.op} ${c.threshold}${unit})`);
  }
}

/** Prints the machine-readable report: one JSON object as the last line of stdout. */
export function printJson(bench: string, params: Record<string, unknown>, rows: readonly BenchRow[]): void {
  console.log(JSON.stringify({ bench, params, results: rows }));
}

/** A fetch variant: its name, the call, and how many results it must return. */
export type FetchVariant = readonly [name: string, call: () => unknown, expected: number];

/**
 * Times every variant `rounds` times after `warmup` untimed rounds, rotating which goes first
 * each round so none always runs on a cold or warm cache; ms per call, by variant name.
 * Throws when a call returns the wrong number of results.
 */
export async function timeFetches(variants: readonly FetchVariant[], warmup: number, rounds: number): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (let i = 0; i < warmup + rounds; i++) {
    for (let j = 0; j < variants.length; j++) {
      const [name, call, expected] = variants[(i + j) % variants.length]!;
      const t0 = performance.now();
      const result = (await call()) as unknown[];
      const ms = performance.now() - t0;
      if (result.length !== expected) throw new Error(`fetch ${name}: ${result.length} results, expected ${expected}`);
      if (i >= warmup) times.get(name)!.push(ms);
    }
  }
  return times;
}
