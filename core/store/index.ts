// The store's public entry: callers open a Store by config and never name a driver module.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { VochubError } from '../errors.ts';
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

export type { Store, StoreTransaction } from './types.ts';
export { openSqliteStore } from './sqlite.ts';
export { openPostgresStore, type PostgresStoreOptions } from './postgres.ts';

export interface StoreConfig {
  driver: 'sqlite' | 'postgres';
  /** SQLite file (created with its folder when missing); ':memory:' for a throw-away store. */
  file?: string;
  /** SQLite: 'full' (default) or 'normal', see docs/store.md#durability. */
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
  /** PostgreSQL connection string (resolved from ${env:DATABASE_URL} by the hub). */
  url?: string;
  /** PostgreSQL schema for the tables (default: search_path). */
  schema?: string;
  [option: string]: unknown;
}

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.driver === 'postgres') {
    if (typeof config.url !== 'string' || !/^postgres(ql)?:\/\//.test(config.url)) {
      throw new VochubError('CONFIG_INVALID', 'postgres 存储需要 url（postgres://…，建议 ${env:DATABASE_URL}）/ the postgres store needs `url` (postgres://…, e.g. ${env:DATABASE_URL})', {
        status: 400,
        details: { field: 'hub.store.url' },
      });
    }
    const store = openPostgresStore({
      url: config.url,
      schema: typeof config.schema === 'string' ? config.schema : undefined,
      poolSize: typeof config.poolSize === 'number' ? config.poolSize : undefined,
      statementTimeoutMs: typeof config.statementTimeoutMs === 'number' ? config.statementTimeoutMs : undefined,
    });
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }
  if (config.driver !== 'sqlite') {
    throw new VochubError('CONFIG_INVALID', `未知的存储驱动 / unknown store driver: ${String(config.driver)}`, { status: 400 });
  }
  if (typeof config.file !== 'string' || config.file === '') {
    throw new VochubError('CONFIG_INVALID', 'sqlite 存储需要 file / the sqlite store needs `file`', { status: 400 });
  }
  if (config.file !== ':memory:') mkdirSync(dirname(config.file), { recursive: true });
  const store = openSqliteStore({ file: config.file, synchronous: config.synchronous, busyTimeoutMs: config.busyTimeoutMs });
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
