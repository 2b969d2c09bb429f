// The services tier's Kafka broker: started once (idempotently) by scripts/services/kafka.sh, shared by the test files.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const KAFKA_SCRIPT = `${ROOT}scripts/services/kafka.sh`;
export const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';

/** Starts the broker unless it runs, and links node-rdkafka (cached build) into node_modules. */
export function ensureKafka(): void {
  execFileSync('bash', [`${ROOT}scripts/services/rdkafka.sh`], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!process.env.KAFKA_BROKERS) execFileSync('bash', [KAFKA_SCRIPT, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Stops and starts the same broker node, keeping its data (fault tests). */
export function restartKafka(): void {
  execFileSync('bash', [KAFKA_SCRIPT, 'restart'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

let n = 0;
/** A topic prefix of its own per test bus: tests never see each other's topics, groups or dead letters. */
export function uniquePrefix(label: string): string {
  return `t${Date.now().toString(36)}${process.pid.toString(36)}${++n}.${label}.`;
}
