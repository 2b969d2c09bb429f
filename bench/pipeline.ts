// Pipeline throughput: events decoded from the durable SQLite bus log → clean → validate → protect →
// upsert into the SQLite store, as a ratio to a raw floor measured in the same run on the same events:
// JSON.parse + ajv validate (the same compiled contract) + better-sqlite3 prepared INSERT in one
// transaction per batch of the same size, with the same pragmas (WAL, synchronous=NORMAL).
// Two paths: the ingest consumer (core/pipeline/ingest-consumer.ts, a bus subscription, batches of
// the bus default 256) and the direct batch path (commitBatch, batches of 1000, what file imports do).
// Usage: node --import tsx bench/pipeline.ts [events=200000]
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import createRosterFileAdapter from '../adapters/roster-file/index.ts';
import { createSqliteBus } from '../core/bus/sqlite.ts';
import type { CloudEvent } from '../core/bus/types.ts';
import { getSharedRegistry } from '../core/contracts/index.ts';
import { silentLogger } from '../core/logger.ts';
import { cleanRecord } from '../core/pipeline/clean.ts';
import { INGEST_TOPIC, STORE_GROUP, ingestEvent, startIngestConsumer, type IngestEventData } from '../core/pipeline/ingest-consumer.ts';
import { commitBatch, prepareBatch, type BatchContext } from '../core/pipeline/process.ts';
import type { SourceRecord } from '../core/plugins/types.ts';
import { loadVault } from '../core/security/pii.ts';
import { openSqliteStore } from '../core/store/sqlite.ts';
import { ROSTER_COLUMNS, rate, rosterFile, secs, timed, type Timing } from './common.ts';

const MEMBER = '3133010103';
const CONSUMER_BATCH = 256; // the bus's default maxBatch, which the ingest consumer uses
const DIRECT_BATCH = 1000; // the roster adapter's default batchSize

export interface PipelineFigures {
  events: number;
  floor256: Timing;
  floor1000: Timing;
  consumer: Timing;
  direct: Timing;
  stages: Record<string, number>;
}

/** Realistic student records: the generated roster read by the real roster-file adapter. */
async function studentRecords(rows: number): Promise<SourceRecord[]> {
  const file = await rosterFile(rows, 'utf-8', 7);
  const instance = await createRosterFileAdapter({
    member: MEMBER,
    instance: 'roster',
    config: { files: file, columns: ROSTER_COLUMNS, defaults: { educationLevel: 'zhongzhi', schoolId: MEMBER }, idCheckDate: '2024-09-01' },
    baseDir: dirname(file),
    dataDir: tmpdir(),
    contracts: getSharedRegistry(),
    logger: silentLogger,
  });
  const records: SourceRecord[] = [];
  for await (const b of instance.read!({ mode: 'full', signal: new AbortController().signal })) records.push(...b.records);
  return records;
}

/** Reads the bus log in pages of `batch` rows: the same durable log the consumer reads. */
function* logPages(busFile: string, batch: number): Generator<string[]> {
  const db = new Database(busFile, { readonly: true });
  const page = db.prepare('SELECT seq, event FROM bus_log WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?').raw(true);
  let after = 0;
  try {
    for (;;) {
      const rows = page.all(INGEST_TOPIC, after, batch) as [number, string][];
      if (rows.length === 0) return;
      after = rows[rows.length - 1]![0];
      yield rows.map((r) => r[1]);
    }
  } finally {
    db.close();
  }
}

function floor(dir: string, busFile: string, batch: number): { t: Timing; invalid: number } {
  const contracts = getSharedRegistry();
  const db = new Database(join(dir, `floor-${batch}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, member TEXT NOT NULL, contract TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (contract, member, key))');
  const insert = db.prepare('INSERT INTO t (member, contract, key, data) VALUES (?, ?, ?, ?)');
  let invalid = 0;
  const write = db.transaction((events: CloudEvent<IngestEventData>[]) => {
    for (const e of events) {
      const r = e.data.record;
      if (!contracts.validate(r.contract, r.data).ok) {
        invalid++;
        continue;
      }
      insert.run(e.member, r.contract, r.key, JSON.stringify(r.data));
    }
  });
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const page of logPages(busFile, batch)) write(page.map((json) => JSON.parse(json) as CloudEvent<IngestEventData>));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  db.close();
  return { t: { wall, cpu: (c.user + c.system) / 1e6 }, invalid };
}

function countRecords(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM records').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** CPU µs per record of each pipeline stage alone (no store), to show what dominates. */
function stageCosts(records: SourceRecord[], ctx: BatchContext): Record<string, number> {
  const contracts = ctx.contracts;
  const info = contracts.get('student');
  const cleaned = records.map((r) => cleanRecord({ ...r.data, id: r.key }).data);
  const us = (fn: () => void): number => {
    fn(); // warm up
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / records.length;
  };
  const out: Record<string, number> = {};
  out.clean = us(() => {
    for (const r of records) cleanRecord({ ...r.data, id: r.key });
  });
  out.validate = us(() => {
    for (const d of cleaned) contracts.validate('student', d);
  });
  out.protect = us(() => {
    for (const d of cleaned) ctx.vault.protect(info, d);
  });
  out['prepareBatch (all three)'] = us(() => {
    for (let i = 0; i < records.length; i += DIRECT_BATCH) prepareBatch(ctx, records.slice(i, i + DIRECT_BATCH));
  });
  return out;
}

export async function runPipelineBench(events: number, log: (line: string) => void = console.log): Promise<PipelineFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'vochub-bench-pipeline-'));
  try {
    const records = await studentRecords(events);
    const n = records.length;
    const busFile = join(dir, 'bus.db');
    const bus = createSqliteBus({ file: busFile, maintenanceIntervalMs: 0, logger: silentLogger });
    const runId = 'bench-run';
    const eventsOf = records.map((record, i) => ingestEvent(MEMBER, { record, adapter: 'roster', runId }, `e${i}`, `/members/${MEMBER}/adapters/roster`));
    const published = await timed(async () => {
      for (let i = 0; i < eventsOf.length; i += 5000) await bus.publish(INGEST_TOPIC, eventsOf.slice(i, i + 5000));
    });

    const f256 = floor(dir, busFile, CONSUMER_BATCH);
    const f1000 = floor(dir, busFile, DIRECT_BATCH);
    const contracts = getSharedRegistry();
    const vault = loadVault({ masterKey: randomBytes(32) });

    // Ingest consumer over the SQLite bus: from the first delivery to the last committed position.
    const consumerStoreFile = join(dir, 'store-consumer.db');
    const consumerStore = openSqliteStore({ file: consumerStoreFile });
    await consumerStore.migrate();
    const consumer = await timed(async () => {
      const sub = await startIngestConsumer({ store: consumerStore, bus, contracts, vault, logger: silentLogger });
      await bus.idle(INGEST_TOPIC, STORE_GROUP, 600_000);
      await sub.close();
    });
    await consumerStore.close();
    await bus.close();
    const consumerCount = countRecords(consumerStoreFile);

    // Direct batch path: the same log pages decoded and handed to commitBatch, as an import run does.
    const directStoreFile = join(dir, 'store-direct.db');
    const directStore = openSqliteStore({ file: directStoreFile });
    await directStore.migrate();
    const ctx: BatchContext = { store: directStore, contracts, vault, member: MEMBER, adapter: 'roster', runId };
    const direct = await timed(async () => {
      for (const page of logPages(busFile, DIRECT_BATCH)) {
        const batch = page.map((json) => (JSON.parse(json) as CloudEvent<IngestEventData>).data.record);
        await commitBatch(ctx, { records: batch, problems: [] });
      }
    });
    await directStore.close();
    const directCount = countRecords(directStoreFile);
    const stages = stageCosts(records.slice(0, Math.min(n, 50_000)), ctx);

    const line = (label: string, t: Timing, floorT: Timing): void => {
      log(`  ${label.padEnd(40)} ${rate(n, t.wall).padStart(10)} wall  ratio ${(floorT.wall / t.wall).toFixed(2)}   ${rate(n, t.cpu).padStart(10)} cpu  ratio ${(floorT.cpu / t.cpu).toFixed(2)}`);
    };
    log(`pipeline: ${n.toLocaleString('en-US')} student events (generated roster, PII: name, ID number, birth date, phone), SQLite bus → SQLite store, synchronous=NORMAL`);
    log(`  (published to the bus log beforehand in ${secs(published.t.wall)}; not counted)`);
    line('floor, batches of 256 (parse+ajv+INSERT)', f256.t, f256.t);
    line('floor, batches of 1000', f1000.t, f1000.t);
    line('ingest consumer (bus, batches of 256)', consumer.t, f256.t);
    line('direct commitBatch (batches of 1000)', direct.t, f1000.t);
    log(`  records stored: consumer ${consumerCount}, direct ${directCount}; floor rejected ${f256.invalid} as invalid`);
    log(`  CPU µs per record by stage (no store, ${Math.min(n, 50_000)} records): ${Object.entries(stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    log(`  floor µs/record: ${((f1000.t.cpu / n) * 1e6).toFixed(1)} cpu; direct µs/record: ${((direct.t.cpu / n) * 1e6).toFixed(1)} cpu`);
    return { events: n, floor256: f256.t, floor1000: f1000.t, consumer: consumer.t, direct: direct.t, stages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runPipelineBench(Number(process.argv[2] ?? 200_000));
}
