// Workers that survive crashes: three worker processes share one consumer group over a real Kafka broker, with Redis
// dedupe and a PostgreSQL sink. 100 000 events; one worker is SIGKILLed mid-stream; the broker is restarted once.
// At the end the table holds every event exactly once, with the content it was published with.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, makeEvent } from '../../core/bus/index.ts';
import type { Bus, CloudEvent } from '../../core/bus/types.ts';
import { BROKERS, ROOT, ensureKafka, restartKafka, uniquePrefix } from './helpers/kafka.ts';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOTAL = 100_000;
const prefix = uniquePrefix('faults');
const table = `fault_${prefix.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`.slice(0, 60);
const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
const workers: ChildProcess[] = [];
let bus: Bus;

/** Content hash independent of key order (jsonb sorts keys). */
function hash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
      : v;
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex');
}

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/services/helpers/fault-worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, BROKERS, PREFIX: prefix, TABLE: table, PG_URL, REDIS_URL },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

async function stored(): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  ensureKafka();
  await pool.query(`CREATE TABLE ${table} (source text NOT NULL, id text NOT NULL, data jsonb NOT NULL, deliveries int NOT NULL, PRIMARY KEY (source, id))`);
  bus = await createBus({ transport: 'kafka', brokers: BROKERS, topicPrefix: prefix, partitions: 6 });
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await bus?.close();
  await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
  await pool.end();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  redis.disconnect();
});

describe('fault tolerance on Kafka + Redis + PostgreSQL', () => {
  it('stores 100k events exactly once across three workers, a SIGKILLed worker and a broker restart', async () => {
    const expected = new Map<string, string>();
    const events: CloudEvent[] = [];
    for (let n = 0; n < TOTAL; n++) {
      const member = `41330100${String(n % 7).padStart(2, '0')}`;
      const data = { studentNumber: `S${n}`, name: `学生${n}`, grade: 2020 + (n % 5), n };
      const event = makeEvent({
        id: `fault-${n}`,
        source: `/members/${member}/adapters/roster`,
        type: 'edu.student.upserted.v1',
        member,
        partitionkey: `${member}/student/S${n % 5000}`,
        data,
      });
      events.push(event);
      expected.set(`${event.source}|${event.id}`, hash(data));
    }
    // Stream the first half, start the workers, stream the rest while they consume.
    for (let i = 0; i < TOTAL / 2; i += 5000) await bus.publish('fault.events', events.slice(i, i + 5000));
    const [victim] = await Promise.all([startWorker(), startWorker(), startWorker()]);
    const publishing = (async () => {
      for (let i = TOTAL / 2; i < TOTAL; i += 5000) await bus.publish('fault.events', events.slice(i, i + 5000));
    })();

    await waitFor('20k stored', async () => (await stored()) >= 20_000, 180_000);
    victim!.kill('SIGKILL');
    await publishing;
    await waitFor('50k stored', async () => (await stored()) >= 50_000, 240_000);
    restartKafka();
    await waitFor('all stored', async () => (await stored()) >= TOTAL, 400_000);
    await bus.idle('fault.events', 'sink', 120_000);

    const { rows } = await pool.query<{ source: string; id: string; data: unknown; deliveries: number }>(`SELECT source, id, data, deliveries FROM ${table}`);
    expect(rows.length).toBe(TOTAL);
    let mismatched = 0;
    let redelivered = 0;
    for (const row of rows) {
      if (expected.get(`${row.source}|${row.id}`) !== hash(row.data)) mismatched++;
      if (row.deliveries > 1) redelivered++;
    }
    expect(mismatched).toBe(0);
    // Redeliveries past dedupe are possible only for batches handled but not yet remembered when the worker died.
    console.log(`faults: ${TOTAL} stored, ${redelivered} rows written more than once (absorbed by the idempotent sink)`);
  });
});
