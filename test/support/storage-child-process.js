/* global process, setImmediate */
// A separate OS process on a storage, opened through the built backends (dist/), for the
// storage contract: `fetch` prints samples as JSON; `write-trades` stores trade-like samples with
// their checkpoint in every call, until it is killed (the crash test kills it with SIGKILL).
// Usage: node storage-child-process.js <dist dir> <spec JSON> fetch <key> <start> <end>
//        node storage-child-process.js <dist dir> <spec JSON> write-trades <collector> <key,key,...>
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
  const [collector, keyList] = args;
  const keys = keyList.split(',');
  const storage = await open(false);
  for (const key of keys) await storage.declare({ key, fields: { amount: 'sum', count: 'sum', id: 'max' } });
  const record = await storage.collectorState.load(collector);
  const next = new Map(keys.map((key) => [key, Number(record?.checkpoints.find((c) => c.key === key)?.lastTradeId ?? 0) + 1]));
  process.stdout.write('ready\n');
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
    await storage.storeMany(points, { checkpoint: { collector, checkpoints } });
    if (round % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}
