// The demo group on the distributed engines gives the same counts as on the embedded default:
// two `vochub worker` processes on PostgreSQL + Redis import it together (each adapter exactly once,
// under its Redis lock), and `vochub stats` then equals the stats of a plain SQLite import.
// Bus: the SQLite transport — core/bus/kafka.ts is not in the tree yet; when it is, this file adds
// `bus: { transport: kafka }` and scripts/services/kafka.sh start (see docs/operations/distributed.md).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../core/config/load.ts';
import { createTestDatabase, ensureRedis, REDIS_URL, redisPrefix } from './helpers/services.ts';

const bin = resolve(repoRoot, 'bin/vochub.mjs');
const demoDir = resolve(repoRoot, 'examples/demo');
const children: ChildProcess[] = [];
const dirs: string[] = [];
const files: string[] = [];
let db: ReturnType<typeof createTestDatabase>;
let keys: ReturnType<typeof redisPrefix>;

beforeAll(() => {
  db = createTestDatabase();
  ensureRedis();
  keys = redisPrefix();
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const f of files) rmSync(f, { force: true });
  db?.drop();
  keys?.flush();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vochub-dist-'));
  dirs.push(dir);
  return dir;
}

/** The demo group file switched to PostgreSQL + Redis. It is written beside the demo file (and removed
 * afterwards) so every relative path in it resolves exactly as in the original. */
function distributedConfig(): string {
  const config = parse(readFileSync(join(demoDir, 'vochub.yaml'), 'utf8')) as {
    hub: Record<string, unknown>;
    members: { adapters: { schedule?: string }[] }[];
    plugins?: { config?: Record<string, unknown> }[];
  };
  // The test drives imports itself: a 02:00 cron must not fire mid-test.
  for (const m of config.members) for (const a of m.adapters) delete a.schedule;
  config.hub = { ...config.hub, store: { driver: 'postgres', url: '${env:DATABASE_URL}' }, redis: { url: '${env:REDIS_URL}', keyPrefix: keys.prefix } };
  const file = join(demoDir, `.distributed-test-${process.pid}.yaml`);
  writeFileSync(file, stringify(config));
  files.push(file);
  return file;
}

function vochub(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function stats(env: NodeJS.ProcessEnv): unknown {
  const out = vochub(['stats', '--json'], env);
  expect(out.status, out.stderr).toBe(0);
  return JSON.parse(out.stdout);
}

async function waitFor(child: ChildProcess, text: string, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output().includes(text) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(output(), `worker did not print "${text}"`).toContain(text);
}

describe('demo group on PostgreSQL + Redis', () => {
  it('two workers import it once between them and end with the same counts as the embedded default', async () => {
    // Embedded default: SQLite store and bus in a data folder of its own.
    const embeddedEnv = { VOCHUB_DATA: tempDir(), VOCHUB_LOG_LEVEL: 'warn' };
    const embedded = vochub(['import', '--no-progress'], embeddedEnv);
    expect(embedded.status, embedded.stderr).toBe(0);
    const expected = stats(embeddedEnv);

    // Distributed: two worker processes share PostgreSQL, Redis and the vault key (one data folder).
    const dir = tempDir();
    const env = { VOCHUB_CONFIG: distributedConfig(), VOCHUB_DATA: join(dir, 'data'), DATABASE_URL: db.url, REDIS_URL, VOCHUB_LOG_LEVEL: 'warn' };
    // The first start generates the demo vault key; the workers then share it.
    const init = vochub(['stats', '--json'], env);
    expect(init.status, init.stderr).toBe(0);
    const outputs = ['', ''];
    const workers = [0, 1].map((i) => {
      const child = spawn(process.execPath, [bin, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (outputs[i] += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (outputs[i] += chunk));
      children.push(child);
      return child;
    });
    await Promise.all(workers.map((w, i) => waitFor(w, '待导入处理完毕 / pending imports done', () => outputs[i]!, 240_000)));
    for (const out of outputs) expect(out).toMatch(/redis ok/);
    expect(outputs.join('')).toMatch(/store ok \(postgres\)/);

    // Each adapter ran on exactly one worker: one import line per adapter between the two outputs.
    const imported = (outputs.join('').match(/^导入 \/ import (\S+): succeeded/gm) ?? []).map((line) => line.split(' ')[3]);
    const adapterCount = (readFileSync(join(demoDir, 'vochub.yaml'), 'utf8').match(/^ {6}- name: /gm) ?? []).length;
    expect(imported).toHaveLength(adapterCount);
    expect(new Set(imported).size).toBe(adapterCount);
    expect(stats(env)).toEqual(expected);

    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : undefined)));
    expect(workers.map((w) => w.exitCode)).toEqual([0, 0]);
  });
});
