// Public surface of the bus: one explicit export file (transports' internals stay in their modules).
import { configError } from '../errors.ts';
import type { EngineOptions } from './engine.ts';
import { createMemoryBus } from './memory.ts';
import { createSqliteBus } from './sqlite.ts';
import type { Bus, BusDedupe } from './types.ts';

export type * from './types.ts';
export { createMemoryBus, type MemoryBus, type MemoryBusOptions } from './memory.ts';
export { createSqliteBus, type SqliteBus, type SqliteBusOptions, type SqliteDurability } from './sqlite.ts';
export type { EngineOptions, MaintenanceResult } from './engine.ts';
export { makeEvent, checkEnvelope, rfc3339, DEFAULT_MAX_EVENT_BYTES, type MakeEventInput, type EnvelopeIssue } from './envelope.ts';
export { backoffDelay, resolveRetryPolicy, DEFAULT_RETRY } from './retry.ts';
export type { KafkaBus, KafkaBusOptions } from './kafka.ts';
export { createMemoryDedupe } from './kafka-dedupe.ts';

export interface BusConfig extends EngineOptions {
  transport: 'memory' | 'sqlite' | 'kafka';
  /** SQLite file (sqlite transport). */
  file?: string;
  durability?: 'publish' | 'strict' | 'process';
  busyTimeoutMs?: number;
  /** Kafka bootstrap servers (kafka transport), e.g. `127.0.0.1:9092`. */
  brokers?: string | string[];
  /** Shared dedupe of (source, id) for the kafka transport (pass `hub.redis.dedupe` with several workers). */
  dedupe?: BusDedupe;
  [option: string]: unknown;
}

/** memory and sqlite open synchronously; kafka returns a promise (node-rdkafka is loaded lazily and the broker is
 * connected first). `await createBus(config)` works for all three. */
export function createBus(config: BusConfig & { transport: 'memory' | 'sqlite' }): Bus;
export function createBus(config: BusConfig): Bus | Promise<Bus>;
export function createBus(config: BusConfig): Bus | Promise<Bus> {
  switch (config?.transport) {
    case 'memory':
      return createMemoryBus(config);
    case 'sqlite':
      if (typeof config.file !== 'string' || config.file.length === 0) {
        throw configError('sqlite 消息总线需要 file / bus.file is required for the sqlite transport', { field: 'bus.file' });
      }
      return createSqliteBus({ ...config, file: config.file });
    case 'kafka': {
      const brokers = config.brokers;
      if (!(typeof brokers === 'string' ? brokers.trim() : Array.isArray(brokers) ? brokers.length : 0)) {
        throw configError('kafka 消息总线需要 brokers / bus.brokers is required for the kafka transport', { field: 'bus.brokers' });
      }
      // Imported on demand: the module graph of the embedded default never touches node-rdkafka.
      return import('./kafka.ts').then(({ createKafkaBus }) => createKafkaBus({ ...config, brokers: brokers! }));
    }
    default:
      throw configError(`未知的消息总线传输 / unknown bus transport: ${String(config?.transport)}`, { field: 'bus.transport' });
  }
}
