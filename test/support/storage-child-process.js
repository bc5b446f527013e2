/* global process, setImmediate, setInterval */
// A separate OS process on a storage, opened through the built backends (dist/), for the
// storage contract: `fetch` prints samples as JSON; `write-trades` stores trade-like samples with
// their checkpoint in every call, until it is killed (the crash test kills it with SIGKILL), through
// a fenced view when given a fence (the fencing test stops it with SIGSTOP), printing its storage's
// counters as `stats {...}` lines every 50 ms.
// Usage: node storage-child-process.js <dist dir> <spec JSON> fetch <key> <start> <end>
//        node storage-child-process.js <dist dir> <spec JSON> write-trades <collector> <key,key,...> [<fence JSON>]
const [dist, specText, action, ...args] = process.argv.slice(2);
const spec = JSON.parse(specText);

async function open(readOnly) {
  if (spec.kind === 'sqlite') {
    const { SqliteStorage } = await import(`${dist}/storage/sqlite.js`);
    return new SqliteStorage({ path: spec.path, readOnly, writeThread: spec.writeThread });
  }
  if (spec.kind === 'redis-timeseries') {
    const { RedisTimeSeriesStorage } = await import(`${dist}/storage/redis-timeseries/storage.js`);
    return RedisTimeSeriesStorage.open({ url: spec.url, urls: spec.urls, readOnly });
  }
  throw new Error(`unknown storage kind ${spec.kind}`);
}

if (action === 'fetch') {
  const [key, start, end] = args;
  const storage = await open(true);
  try {
    process.stdout.write(JSON.stringify(await storage.fetch(key, Number(start), Number(end))));
  } finally {
    await storage.close();
  }
} else if (action === 'write-trades') {
  // Resumes like a trade collector: from each key's committed checkpoint (trade number n at
  // time 1,000 + n / 3, so several trades share a millisecond and `sum` fields merge).
  const [collector, keyList, fenceText] = args;
  const keys = keyList.split(',');
  const storage = await open(false);
  for (const key of keys) await storage.declare({ key, fields: { amount: 'sum', count: 'sum', id: 'max' } });
  const writer = fenceText ? await storage.fenced(JSON.parse(fenceText), keys) : storage;
  const record = await storage.collectorState.load(collector);
  const next = new Map(keys.map((key) => [key, Number(record?.checkpoints.find((c) => c.key === key)?.lastTradeId ?? 0) + 1]));
  process.stdout.write('ready\n');
  setInterval(() => {
    const { written, staleWritesRefused } = storage.stats();
    process.stdout.write(`stats ${JSON.stringify({ written, staleWritesRefused })}\n`);
  }, 50);
  for (let round = 0; ; round++) {
    const points = [];
    const checkpoints = [];
    for (const key of keys) {
      const n = 1 + ((round * 7 + key.length) % 40);
      let id = next.get(key);
      for (let i = 0; i < n; i++, id++) points.push({ key, value: { amount: 0.5, count: 1, id }, timestamp: 1_000 + Math.floor(id / 3) });
      next.set(key, id);
      checkpoints.push({ key, lastTradeId: String(id - 1), lastTimestamp: 1_000 + Math.floor((id - 1) / 3) });
    }
    await writer.storeMany(points, { checkpoint: { collector, checkpoints } });
    if (round % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}
