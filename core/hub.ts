// Assembles a running hub from the group configuration: contracts, store, bus, PII vault, plugins,
// the pipeline (imports, outbox relay, ingest consumer), schedules and the HTTP API.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Cron } from 'croner';
import type { FastifyInstance } from 'fastify';
import { VochubError } from './errors.ts';
import type { HubContext } from './api/types.ts';
import { buildApi } from './api/index.ts';
import { createBus } from './bus/index.ts';
import type { Bus, Subscription } from './bus/types.ts';
import { loadContracts } from './contracts/registry.ts';
import { loadGroupConfig, repoRoot, resolveConfigPath } from './config/load.ts';
import type { GroupConfig } from './config/types.ts';
import { createLogger, type Logger } from './logger.ts';
import { discoverPlugins, loadInstances, startAll, stopAll, type InstanceSpec, type LoadedInstance } from './plugins/host.ts';
import { runImport, type ImportOptions } from './pipeline/import-run.ts';
import { INGEST_TOPIC, ingestEvent, startIngestConsumer } from './pipeline/ingest-consumer.ts';
import { startOutboxRelay, type OutboxRelay } from './pipeline/outbox-relay.ts';
import type { SourceRecord } from './plugins/types.ts';
import { createApiKey } from './security/api-keys.ts';
import { loadVault } from './security/pii.ts';
import { openStore } from './store/index.ts';
import type { ImportRun } from './store/types.ts';
import { resolveSecrets } from './plugins/secrets.ts';
import { openRedis, type RedisServices } from './redis/index.ts';
import { holdLease, type Lease } from './redis/lease.ts';

export interface HubOptions {
  /** Group config file; default VOCHUB_CONFIG, then the demo group. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Start the ingest consumer, outbox relay and schedules (default true). The CLI's one-shot commands say false. */
  background?: boolean;
  /** 'all' (default): API and workers in one process; 'api': no background work; 'worker': background work
   * only (the caller does not listen). See docs/operations/distributed.md. */
  role?: HubRole;
}

export type HubRole = 'all' | 'api' | 'worker';

/** Scheduled and pending imports hold this lock (with `hub.redis`), so exactly one worker runs each. */
export const IMPORT_LOCK_TTL_MS = 30_000;
/** Only the holder of this lease relays the outbox (with `hub.redis`). */
export const RELAY_LEASE = 'outbox-relay';

export interface Hub extends HubContext {
  adapters: Map<string, LoadedInstance>;
  relay?: OutboxRelay;
  /** Shared Redis services when `hub.redis` is configured. */
  redis?: RedisServices;
  readonly role: HubRole;
  /** Creates the first group-admin key when the hub has none; returns the clear key once. */
  ensureAdminKey(): Promise<string | undefined>;
  /** Imports every adapter that has never completed a run, and resumes interrupted runs. */
  importPending(options?: ImportOptions): Promise<ImportRun[]>;
  listen(): Promise<{ app: FastifyInstance; url: string }>;
  close(): Promise<void>;
}

function adapterId(member: string, adapter: string): string {
  return `${member}/${adapter}`;
}

export async function createHub(options: HubOptions = {}): Promise<Hub> {
  const env = options.env ?? process.env;
  const config: GroupConfig = loadGroupConfig(resolveConfigPath(options.configPath, env), env);
  const logger = options.logger ?? createLogger();
  mkdirSync(config.hub.dataDir, { recursive: true });

  const contracts = loadContracts();
  // Store and Redis URLs are secret references (${env:DATABASE_URL}): resolved here, never logged.
  const literalUrl = config.hub.store.url;
  if (typeof literalUrl === 'string' && !literalUrl.trim().startsWith('${') && /\/\/[^/@]*:[^/@]+@/.test(literalUrl)) {
    throw new VochubError('CONFIG_INLINE_SECRET', '配置中不得直接写入数据库密码，请使用 ${env:DATABASE_URL} / inline secret refused at hub/store/url: use ${env:DATABASE_URL}', {
      status: 400,
      details: { path: 'hub/store/url' },
    });
  }
  const storeConfig = resolveSecrets(config.hub.store, {}, { env, baseDir: config.baseDir, path: 'hub/store' }) as typeof config.hub.store;
  const store = await openStore({ ...storeConfig, file: join(config.hub.dataDir, 'vochub.db') } as Parameters<typeof openStore>[0]);
  await store.migrate();
  const redis = config.hub.redis ? await openRedis(config.hub.redis, { env, baseDir: config.baseDir }) : undefined;
  // With Redis, the bus dedupes source + id across all workers (a Kafka rebalance hands events to another process).
  const bus: Bus = await createBus({ ...config.hub.bus, file: join(config.hub.dataDir, 'bus.db'), ...(redis ? { dedupe: redis.dedupe } : {}) } as Parameters<typeof createBus>[0]);
  const vault = loadVault({ env, dataDir: config.hub.dataDir, generateIfMissing: env.VOCHUB_DEMO_KEYS !== 'off', logger });

  const plugins = discoverPlugins({ roots: [resolve(repoRoot, 'adapters'), resolve(repoRoot, 'plugins')], nodeModules: resolve(repoRoot, 'node_modules') });
  const specs: InstanceSpec[] = [];
  config.members.forEach((member, i) =>
    member.adapters.forEach((adapter, j) =>
      specs.push({ kind: 'adapter', type: adapter.type, instance: adapter.name, member: member.code, config: adapter.config, path: `members/${i}/adapters/${j}/config` }),
    ),
  );
  config.plugins.forEach((plugin, i) => specs.push({ kind: 'plugin', type: plugin.type, instance: plugin.name, config: plugin.config, path: `plugins/${i}/config` }));
  const loaded = await loadInstances(specs, {
    plugins,
    contracts,
    logger,
    baseDir: config.baseDir,
    dataDir: config.hub.dataDir,
    env,
    services: { config, store, bus, vault, contracts, logger },
  });
  const role: HubRole = options.role ?? 'all';
  const background = (options.background ?? true) && role !== 'api';
  // start() begins background work (schedules, bus consumers): only in processes that do background work,
  // never in one-shot CLI commands or an API-only process.
  if (background) await startAll(loaded);
  const adapters = new Map(loaded.filter((l) => l.spec.kind === 'adapter').map((l) => [adapterId(l.spec.member!, l.spec.instance), l]));

  // One run at a time per adapter instance in this process; across processes the checkpoint
  // row is the guard (a second process resumes the same run rather than starting another).
  const inFlight = new Map<string, Promise<ImportRun>>();
  const run = async (member: string, adapter: string, importOptions: ImportOptions = {}, onlyIfPending = false): Promise<ImportRun> => {
    const id = adapterId(member, adapter);
    const target = adapters.get(id);
    if (!target) throw new VochubError('ADAPTER_UNKNOWN', `成员 ${member} 没有名为 ${adapter} 的适配器 / member ${member} has no adapter ${adapter}`, { status: 404 });
    const current = inFlight.get(id);
    if (current) return current;
    const memberConfig = config.members.find((m) => m.code === member)!;
    const adapterConfig = memberConfig.adapters.find((a) => a.name === adapter)!;
    const runLocal = (): Promise<ImportRun> => runImport({ store, contracts, vault, logger }, { member, adapter, instance: target.instance, maxDeactivateShare: adapterConfig.maxDeactivateShare }, importOptions)
      .then(async (finished) => {
        if (finished.status === 'succeeded' || finished.status === 'stopped') await store.supersedeProblems(member, adapter, finished.id);
        app?.vochubMetrics.observeImportRun(finished);
        relay?.poke();
        return finished;
      });
    // With Redis, a run is guarded across processes too: N workers firing the same cron, or a worker
    // and an API call, run the import once; the others get IMPORT_LOCKED.
    // Under the lock, a pending-import pass checks again: another worker may have finished this adapter
    // between this worker's listing and its turn at the lock.
    const stillPending = async (): Promise<boolean> => {
      if (!onlyIfPending) return true;
      if (await store.getCheckpoint(member, adapter)) return true;
      const latest = (await store.listRuns({ member, limit: 1000 })).items.find((r) => r.adapter === adapter);
      return latest?.status !== 'succeeded';
    };
    const promise = (redis ? lockedImport(redis, id, runLocal, stillPending) : runLocal()).finally(() => inFlight.delete(id));
    inFlight.set(id, promise);
    return promise;
  };

  const replayProblem = async (problemId: string, fixed?: Record<string, unknown>): Promise<void> => {
    const problem = await store.getProblem(problemId);
    if (!problem) throw new VochubError('NOT_FOUND', `问题记录不存在 / problem ${problemId} not found`, { status: 404 });
    const original = await store.getProblemOriginal(problemId);
    if (!original) {
      throw new VochubError('PROBLEM_NOT_REPLAYABLE', `该问题没有可重放的原始记录（整行无法解析）/ problem ${problemId} has no original record to replay (the row could not be parsed)`, { status: 409 });
    }
    const record = JSON.parse(vault.decryptText(original)) as SourceRecord;
    const next: SourceRecord = fixed ? { ...record, data: { ...record.data, ...fixed } } : record;
    await bus.publish(INGEST_TOPIC, [
      ingestEvent(problem.member, { record: next, adapter: problem.adapter, runId: problem.runId }, `replay-${problemId}-${Date.now()}`, `/members/${problem.member}/problems`),
    ]);
    await store.setProblemStatus(problemId, 'replayed');
  };

  let relay: OutboxRelay | undefined;
  let relayLease: Lease | undefined;
  let ingest: Subscription | undefined;
  const crons: Cron[] = [];
  if (background) {
    ingest = await startIngestConsumer({ store, bus, contracts, vault, logger });
    if (redis) {
      // One relay among N workers: the lease holder relays; when it dies its lease expires and another
      // worker's relay takes over from the outbox (published entries are pruned, so nothing is skipped).
      let leased: OutboxRelay | undefined;
      relayLease = holdLease(redis.locks, RELAY_LEASE, {
        ttlMs: 15_000,
        onAcquire: () => {
          leased = startOutboxRelay({ store, bus, contracts, logger });
          logger.info('outbox relay lease acquired');
        },
        onLose: async () => {
          await leased?.stop();
          leased = undefined;
          logger.warn('outbox relay lease lost');
        },
      });
      relay = {
        flush: async () => (leased ? leased.flush() : 0),
        poke: () => leased?.poke(),
        stop: async () => {
          await relayLease?.stop();
          await leased?.stop();
        },
      };
    } else {
      relay = startOutboxRelay({ store, bus, contracts, logger });
    }
    for (const member of config.members) {
      for (const adapter of member.adapters) {
        if (!adapter.schedule) continue;
        crons.push(
          new Cron(adapter.schedule, { protect: true, name: adapterId(member.code, adapter.name) }, () => {
            run(member.code, adapter.name).catch((error: unknown) => {
              if (error instanceof VochubError && error.code === 'IMPORT_LOCKED') logger.debug({ member: member.code, adapter: adapter.name }, 'scheduled import runs on another worker');
              else logger.error({ err: error, member: member.code, adapter: adapter.name }, 'scheduled import failed');
            });
          }),
        );
      }
    }
  }

  let app: FastifyInstance | undefined;
  const hub: Hub = {
    config,
    store,
    bus,
    contracts,
    vault,
    logger,
    adapters,
    relay,
    redis,
    role,
    plugins: loaded
      .filter((l) => l.spec.kind === 'plugin')
      .map((l) => ({ name: l.spec.instance, prefix: l.plugin.manifest.provides?.routes ?? `/plugins/${l.spec.instance}`, instance: l.instance })),
    imports: { run: (member, adapter, o) => run(member, adapter, o), replayProblem },
    async ready() {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      try {
        await store.getMeta('ready-probe');
        checks.store = { ok: true, detail: store.driver };
      } catch (error) {
        checks.store = { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
      const busHealth = await bus.health().catch((error: unknown) => ({ ok: false, transport: bus.transport, detail: String(error) }));
      checks.bus = { ok: busHealth.ok, detail: busHealth.detail ?? busHealth.transport };
      checks.contracts = { ok: contracts.list().length > 0, detail: `${contracts.list().length} contracts` };
      if (redis) checks.redis = await redis.health();
      for (const [id, a] of adapters) {
        const h = a.instance.health ? await a.instance.health().catch((error: unknown) => ({ ok: false, detail: String(error) })) : { ok: true };
        checks[`adapter:${id}`] = h;
      }
      // An adapter's source being unreachable does not make the hub unready: it still serves what it has.
      const ok = checks.store!.ok && checks.bus!.ok && checks.contracts!.ok && (checks.redis?.ok ?? true);
      return { ok, checks };
    },
    async ensureAdminKey() {
      const keys = await store.listApiKeys();
      if (keys.some((k) => !k.revokedAt && k.role === 'group-admin')) return undefined;
      const created = await createApiKey(store, { name: 'initial group admin', role: 'group-admin', member: null, permissions: ['pii:read'] });
      return created.key;
    },
    async importPending(importOptions = {}) {
      // Runs left 'running' without a checkpoint died before their first commit: close them honestly.
      const runs = await store.listRuns({ limit: 1000 });
      for (const r of runs.items) {
        if (r.status !== 'running') continue;
        const checkpoint = (await store.getCheckpoint(r.member, r.adapter)) as { runId?: string } | undefined;
        if (checkpoint?.runId !== r.id) await store.finishRun(r.id, 'failed', { error: { code: 'RUN_INTERRUPTED', message: '导入在第一次提交前中断 / the run stopped before its first commit' } });
      }
      const done = new Set(runs.items.filter((r) => r.status === 'succeeded').map((r) => adapterId(r.member, r.adapter)));
      const results: ImportRun[] = [];
      for (const [id, a] of adapters) {
        const checkpoint = await store.getCheckpoint(a.spec.member!, a.spec.instance);
        if (done.has(id) && !checkpoint) continue;
        try {
          results.push(await run(a.spec.member!, a.spec.instance, importOptions, true));
        } catch (error) {
          // Another worker holds this adapter's import: it imports it, this one goes on.
          if (error instanceof VochubError && error.code === 'IMPORT_LOCKED') continue;
          throw error;
        }
      }
      return results;
    },
    async listen() {
      app ??= await buildApi(hub);
      const url = await app.listen({ port: config.hub.port, host: config.hub.host });
      return { app, url };
    },
    async close() {
      for (const c of crons) c.stop();
      await app?.close();
      await ingest?.close();
      await relay?.stop();
      await Promise.allSettled([...inFlight.values()]);
      await stopAll(loaded, logger);
      await bus.close();
      await store.close();
      await redis?.close();
    },
  };
  return hub;
}

/** Runs an import under the Redis lock `import:<member>/<adapter>`, renewed while it runs. */
async function lockedImport(redis: RedisServices, id: string, runLocal: () => Promise<ImportRun>, stillPending: () => Promise<boolean>): Promise<ImportRun> {
  const result = await redis.locks.withLock(`import:${id}`, IMPORT_LOCK_TTL_MS, async () => ((await stillPending()) ? runLocal() : undefined));
  if (result.ran && result.value === undefined) {
    throw new VochubError('IMPORT_LOCKED', `适配器 ${id} 已由另一个工作进程导入 / adapter ${id} was just imported by another worker`, { status: 409, details: { adapter: id } });
  }
  if (!result.ran) {
    throw new VochubError('IMPORT_LOCKED', `适配器 ${id} 正在另一个工作进程中导入 / adapter ${id} is being imported by another worker`, { status: 409, details: { adapter: id } });
  }
  return result.value!;
}
