// Kafka bus pipeline vs raw node-rdkafka, same broker, same messages, same run.
//   pipeline: bus.publish (envelope + size checks, binary-mode headers, idempotent producer, acks awaited per call)
//             + bus.subscribe (decode, dedupe filter + remember, per-key batching, commits after settle) until idle.
//   raw floor: the same records (value, key, ce_* headers) produced with node-rdkafka's Producer in the same chunks,
//             awaiting the delivery reports, then consumed by a KafkaConsumer with a commit per fetched batch.
// Ratio = raw seconds / pipeline seconds (1.0 = as fast as the floor). Needs scripts/services/kafka.sh start.
// Usage: npm run bench:kafka -- [events=100000] [rounds=2]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBus, makeEvent } from '../core/bus/index.ts';
import type { CloudEvent } from '../core/bus/types.ts';
import { call, loadRdkafka, type KMessage } from '../core/bus/kafka-client.ts';
import { encodeHeaders, encodeValue } from '../core/bus/kafka-codec.ts';
import { rate, secs, timed } from './common.ts';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const CHUNK = 5000;
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const root = fileURLToPath(new URL('../', import.meta.url));
if (!process.env.KAFKA_BROKERS) {
  execFileSync('bash', [`${root}scripts/services/rdkafka.sh`], { stdio: 'inherit' });
  execFileSync('bash', [`${root}scripts/services/kafka.sh`, 'start'], { stdio: 'inherit' });
}
const kafka = await loadRdkafka();
const runId = Date.now().toString(36);

const events: CloudEvent[] = Array.from({ length: N }, (_, n) =>
  makeEvent({
    id: `bench-${n}`,
    source: '/members/4133010001/adapters/roster',
    type: 'edu.student.upserted.v1',
    member: '4133010001',
    partitionkey: `4133010001/student/S${n % 10_000}`,
    data: { studentNumber: `2023${String(n).padStart(8, '0')}`, name: '王小明', sex: '1', grade: 2023, classId: `C${n % 40}` },
  }),
);

async function raw(round: number): Promise<number> {
  const topic = `bench.${runId}.raw${round}`;
  const admin = kafka.AdminClient.create({ 'bootstrap.servers': BROKERS });
  await call<void>((cb) => admin.createTopic({ topic, num_partitions: 6, replication_factor: 1 }, 15_000, (e) => cb(e, undefined)));
  admin.disconnect();
  const producer = new kafka.Producer({
    'bootstrap.servers': BROKERS, dr_cb: true, 'enable.idempotence': true, 'linger.ms': 5, 'batch.num.messages': 10_000,
    'compression.type': 'lz4', 'queue.buffering.max.messages': 200_000, partitioner: 'murmur2_random',
  });
  await call<unknown>((cb) => producer.connect({}, (e) => cb(e, undefined)));
  producer.setPollInterval(10);
  let acked = 0;
  let wake: (() => void) | undefined;
  producer.on('delivery-report', () => {
    acked++;
    wake?.();
  });
  const consumer = new kafka.KafkaConsumer({
    'bootstrap.servers': BROKERS, 'group.id': `${topic}.g`, 'enable.auto.commit': false, 'fetch.wait.max.ms': 50,
  }, { 'auto.offset.reset': 'earliest' });
  consumer.setDefaultConsumeTimeout(100);
  await call<unknown>((cb) => consumer.connect({}, (e) => cb(e, undefined)));
  const { t } = await timed(async () => {
    for (let i = 0; i < N; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      for (const e of chunk) {
        for (;;) {
          try {
            producer.produce(topic, null, encodeValue(e), e.partitionkey, Date.now(), null, encodeHeaders(e));
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      }
      const target = i + chunk.length;
      while (acked < target) await new Promise<void>((r) => (wake = r));
    }
    consumer.subscribe([topic]);
    let seen = 0;
    while (seen < N) {
      const messages = await call<KMessage[]>((cb) => consumer.consume(2000, cb));
      const last = new Map<number, number>();
      for (const m of messages) {
        JSON.parse(m.value!.toString('utf8'));
        last.set(m.partition, m.offset + 1);
      }
      seen += messages.length;
      if (last.size > 0) consumer.commit([...last].map(([partition, offset]) => ({ topic, partition, offset })));
    }
  });
  await new Promise<void>((r) => consumer.disconnect(() => r()));
  await new Promise<void>((r) => producer.disconnect(() => r()));
  return t.wall;
}

async function pipeline(round: number): Promise<number> {
  const bus = await createBus({ transport: 'kafka', brokers: BROKERS, topicPrefix: `bench.${runId}.p${round}.`, partitions: 6 });
  let handled = 0;
  const { t } = await timed(async () => {
    for (let i = 0; i < N; i += CHUNK) await bus.publish('edu.student', events.slice(i, i + CHUNK));
    await bus.subscribe('edu.student', 'store', (batch) => {
      handled += batch.length;
    }, { maxBatch: 500 });
    await bus.idle('edu.student', 'store', 600_000);
  });
  if (handled !== N) throw new Error(`pipeline handled ${handled} of ${N}`);
  await bus.close();
  return t.wall;
}

let bestRaw = Infinity;
let bestPipe = Infinity;
for (let round = 0; round < ROUNDS; round++) {
  const r = await raw(round);
  const p = await pipeline(round);
  console.log(`round ${round + 1}: raw ${secs(r)} (${rate(N, r)}), pipeline ${secs(p)} (${rate(N, p)})`);
  bestRaw = Math.min(bestRaw, r);
  bestPipe = Math.min(bestPipe, p);
}
console.log(`kafka: ${N} events, best of ${ROUNDS}: raw ${secs(bestRaw)} (${rate(N, bestRaw)}), pipeline ${secs(bestPipe)} (${rate(N, bestPipe)})`);
console.log(`ratio (raw / pipeline, target >= 0.7): ${(bestRaw / bestPipe).toFixed(2)}`);
process.exit(0);
