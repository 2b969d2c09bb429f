// One hub worker of the fault test: the Kafka bus (group "sink") with Redis dedupe, writing every event into a
// PostgreSQL table keyed by (source, id). Started three times by faults.test.ts; one copy gets SIGKILLed.
// Env: BROKERS, PREFIX, TABLE, PG_URL, REDIS_URL.
import pg from 'pg';
import { Redis } from 'ioredis';
import { createBus } from '../../../core/bus/index.ts';
import type { Bus } from '../../../core/bus/types.ts';
import { createRedisDedupe } from '../../../core/redis/dedupe.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`missing env ${name}`);
  return value;
};
const table = env('TABLE');
const pool = new pg.Pool({ connectionString: env('PG_URL'), max: 4 });
const redis = new Redis(env('REDIS_URL'));
const bus: Bus = await createBus({
  transport: 'kafka',
  brokers: env('BROKERS'),
  topicPrefix: env('PREFIX'),
  partitions: 6,
  dedupe: createRedisDedupe(redis, { keyPrefix: env('PREFIX') }),
});

await bus.subscribe('fault.events', 'sink', async (batch) => {
  const values: unknown[] = [];
  const rows: string[] = [];
  for (const d of batch) {
    const i = values.length;
    values.push(d.event.source, d.event.id, JSON.stringify(d.event.data));
    rows.push(`($${i + 1}, $${i + 2}, $${i + 3}::jsonb, 1)`);
  }
  // Idempotent sink: a redelivery that slipped past dedupe (handled, then killed before the commit) only counts up
  // `deliveries`, so the test can report it; the row itself is written once.
  await pool.query(
    `INSERT INTO ${table} (source, id, data, deliveries) VALUES ${rows.join(',')}
     ON CONFLICT (source, id) DO UPDATE SET deliveries = ${table}.deliveries + 1`,
    values,
  );
}, { maxBatch: 500, retry: { maxAttempts: 1000, initialDelayMs: 100, maxDelayMs: 2000 } });

process.stdout.write('ready\n');
const stop = async (): Promise<void> => {
  await bus.close();
  await pool.end();
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
