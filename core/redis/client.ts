// One Redis connection per hub process, opened from `hub.redis` in the group file. The URL is a
// secret reference (`${env:REDIS_URL}`): a password in a redis:// URL must not sit in the YAML.
import { Redis } from 'ioredis';
import { VochubError } from '../errors.ts';
import { resolveSecrets } from '../plugins/secrets.ts';

export interface RedisConfig {
  /** redis://[:password@]host:port/db or rediss://…; `${env:NAME}` / `${file:path}` references are resolved. */
  url: string;
  /** Prefix of every key this hub writes (default `vochub:`): several hubs may share one Redis. */
  keyPrefix?: string;
  /** Per-command timeout, ms (default 5000): an outage fails fast instead of hanging a consumer. */
  commandTimeoutMs?: number;
  [option: string]: unknown;
}

export interface RedisHealth {
  ok: boolean;
  detail?: string;
}

/** Resolves references in the config and connects; refuses with REDIS_UNAVAILABLE when Redis does not answer. */
export async function connectRedis(config: RedisConfig, options: { env?: NodeJS.ProcessEnv; baseDir?: string } = {}): Promise<Redis> {
  // A literal URL without a password is fine (loopback, private network); one with a password is an
  // inline secret and refused, exactly like a literal `password:` in adapter config.
  if (typeof config.url === 'string' && !config.url.trim().startsWith('${') && /\/\/[^/@]*:[^/@]+@/.test(config.url)) {
    throw new VochubError('CONFIG_INLINE_SECRET', '配置中不得直接写入 Redis 密码，请使用 ${env:REDIS_URL} / inline secret refused at hub/redis/url: use ${env:REDIS_URL}', {
      status: 400,
      details: { path: 'hub/redis/url' },
    });
  }
  const resolved = resolveSecrets(config, {}, {
    env: options.env ?? process.env,
    baseDir: options.baseDir ?? process.cwd(),
    path: 'hub/redis',
  }) as RedisConfig;
  if (typeof resolved.url !== 'string' || !/^rediss?:\/\//.test(resolved.url)) {
    throw new VochubError('CONFIG_INVALID', 'hub.redis.url 必须是 redis:// 或 rediss:// 地址 / hub.redis.url must be a redis:// or rediss:// URL', {
      status: 400,
      details: { field: 'hub.redis.url' },
    });
  }
  const client = new Redis(resolved.url, {
    lazyConnect: true,
    // Commands fail after the timeout instead of queueing forever while Redis is down; the bus naks
    // and retries, readiness turns red, and ioredis keeps reconnecting in the background.
    commandTimeout: resolved.commandTimeoutMs ?? 5000,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (cause) {
    client.disconnect();
    throw new VochubError('REDIS_UNAVAILABLE', `无法连接 Redis / cannot reach Redis: ${redactUrl(resolved.url)}`, {
      status: 503,
      cause,
    });
  }
  return client;
}

export async function redisHealth(client: Redis): Promise<RedisHealth> {
  try {
    const pong = await client.ping();
    return { ok: pong === 'PONG', detail: `redis ${client.status}` };
  } catch (error) {
    return { ok: false, detail: `redis ${client.status}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** redis://user:secret@host → redis://user:***@host, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}
