// The real PostgreSQL and Redis of this machine, reached through scripts/services/*.sh: the scripts
// start a server that is down and make a uniquely named database that the test drops afterwards.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const scripts = fileURLToPath(new URL('../../../scripts/services/', import.meta.url));

export const REDIS_URL = process.env.VOCHUB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Creates a fresh database; returns its URL and a drop function. */
export function createTestDatabase(): { url: string; name: string; drop(): void } {
  const name = `vochub_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const url = execFileSync('bash', [`${scripts}postgres.sh`, 'create', name], { encoding: 'utf8' }).trim();
  return { url, name, drop: () => void execFileSync('bash', [`${scripts}postgres.sh`, 'drop', name], { stdio: 'inherit' }) };
}

export function ensureRedis(): void {
  execFileSync('bash', [`${scripts}redis.sh`, 'up'], { stdio: 'inherit' });
}

/** A key prefix of its own per test file, removed afterwards: the machine's Redis is shared. */
export function redisPrefix(): { prefix: string; flush(): void } {
  const prefix = `vochub-test:${randomBytes(4).toString('hex')}:`;
  return { prefix, flush: () => void execFileSync('bash', [`${scripts}redis.sh`, 'flush-prefix', prefix], { stdio: 'inherit' }) };
}
