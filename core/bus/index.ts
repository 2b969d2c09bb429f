// Public surface of the bus: one explicit export file (transports' internals stay in their modules).
import { VochubError, configError } from '../errors.ts';
import type { EngineOptions } from './engine.ts';
import { createMemoryBus } from './memory.ts';
import { createSqliteBus } from './sqlite.ts';
import type { Bus } from './types.ts';

export type * from './types.ts';
export { createMemoryBus, type MemoryBus, type MemoryBusOptions } from './memory.ts';
export { createSqliteBus, type SqliteBus, type SqliteBusOptions, type SqliteDurability } from './sqlite.ts';
export type { EngineOptions, MaintenanceResult } from './engine.ts';
export { makeEvent, checkEnvelope, rfc3339, DEFAULT_MAX_EVENT_BYTES, type MakeEventInput, type EnvelopeIssue } from './envelope.ts';
export { backoffDelay, resolveRetryPolicy, DEFAULT_RETRY } from './retry.ts';

export interface BusConfig extends EngineOptions {
  transport: 'memory' | 'sqlite' | 'kafka';
  /** SQLite file (sqlite transport). */
  file?: string;
  durability?: 'publish' | 'strict' | 'process';
  busyTimeoutMs?: number;
  [option: string]: unknown;
}

export function createBus(config: BusConfig): Bus {
  switch (config?.transport) {
    case 'memory':
      return createMemoryBus(config);
    case 'sqlite':
      if (typeof config.file !== 'string' || config.file.length === 0) {
        throw configError('sqlite 消息总线需要 file / bus.file is required for the sqlite transport', { field: 'bus.file' });
      }
      return createSqliteBus({ ...config, file: config.file });
    case 'kafka':
      throw new VochubError('BUS_TRANSPORT_UNAVAILABLE', 'Kafka 传输尚未安装 / Kafka transport not installed yet', { status: 501 });
    default:
      throw configError(`未知的消息总线传输 / unknown bus transport: ${String(config?.transport)}`, { field: 'bus.transport' });
  }
}
