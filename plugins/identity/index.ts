// identity plugin: one person across members. Owns <dataDir>/identity.db, follows the change topics
// edu.person / edu.student / edu.staff in consumer group `identity`, serves /api/v1/identity and the
// `vochub identity` commands. See README.md and docs/identity.md.
import { join } from 'node:path';
import { Cron } from 'croner';
import type { CloudEvent, Delivery, Subscription } from '../../core/bus/types.ts';
import { configError } from '../../core/errors.ts';
import type { ChangeEventData } from '../../core/pipeline/outbox-relay.ts';
import type { PluginFactory, PluginInstance } from '../../core/plugins/types.ts';
import { IdentityDb } from './src/db.ts';
import { identityRoutes } from './src/routes.ts';
import { IdentityService, type Actor } from './src/service.ts';
import { DEFAULT_SURVIVORSHIP, type SurvivorshipRule } from './src/survivorship.ts';
import { DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, type MatchThresholds, type MatchWeights } from './src/weights.ts';

export interface IdentityConfig {
  contracts?: ('person' | 'student' | 'staff')[];
  thresholds?: Partial<MatchThresholds>;
  weights?: Partial<MatchWeights>;
  survivorship?: Record<string, SurvivorshipRule[]>;
  incremental?: boolean;
  schedule?: string;
}

export const IDENTITY_GROUP = 'identity';
/** The hub itself, as the actor of matches it runs on its own (bus catch-up, schedule). */
export const SYSTEM_ACTOR: Actor = { id: 'system:identity', role: 'system' };

export interface IdentityInstance extends PluginInstance {
  identity: IdentityService;
  /** Starts the change-event consumer (group `identity`); called when the API is mounted, or by an embedding worker. */
  follow(): Promise<void>;
}

export function isIdentityInstance(instance: PluginInstance): instance is IdentityInstance {
  return (instance as Partial<IdentityInstance>).identity instanceof IdentityService;
}

const factory: PluginFactory<IdentityConfig> = (context) => {
  const services = context.services;
  if (!services) throw configError('identity: 需要作为集团插件（plugins:）配置 / must be configured as a hub plugin (plugins:)');
  const config = context.config;
  const thresholds: MatchThresholds = { ...DEFAULT_THRESHOLDS, ...config.thresholds };
  if (thresholds.review > thresholds.autoLink) throw configError('identity: thresholds.review 不能大于 autoLink / thresholds.review must not exceed autoLink');
  const weights: MatchWeights = { ...DEFAULT_WEIGHTS, ...(config.weights as MatchWeights | undefined) };
  const db = new IdentityDb(join(context.dataDir, 'identity.db'));
  const identity = new IdentityService(db, services, {
    contracts: config.contracts ?? ['person', 'student', 'staff'],
    thresholds,
    weights,
    survivorship: { ...DEFAULT_SURVIVORSHIP, ...config.survivorship },
  });
  const subscriptions: Subscription[] = [];
  let cron: Cron | undefined;

  const onBatch = async (batch: Delivery<ChangeEventData>[]): Promise<void> => {
    // First contact with a hub that already has data: one full match instead of replaying history record by record.
    if (db.getMeta('fullMatchAt') === undefined) {
      await identity.matchAll(SYSTEM_ACTOR);
      db.setMeta('fullMatchAt', new Date().toISOString());
      for (const d of batch) d.ack();
      return;
    }
    await identity.serial(async () => {
      for (const d of batch) {
        const event: CloudEvent<ChangeEventData> = d.event;
        const data = event.data;
        if (!data || typeof data.key !== 'string' || typeof data.contract !== 'string') {
          d.term({ code: 'IDENTITY_EVENT_INVALID', message: '变更事件缺少 contract/key / change event without contract/key', stage: 'deliver', adapter: 'identity' });
          continue;
        }
        const ref = { member: event.member, contract: data.contract, key: data.key };
        const deleted = event.type.includes('.deleted.');
        await identity.applyChange(ref, deleted || !data.record ? { deleted: true } : { deleted: false, record: { key: data.key, data: data.record, pii: data.pii ?? null, updatedAt: event.time } });
        d.ack();
      }
    });
  };

  let following: Promise<void> | undefined;
  const follow = (): Promise<void> => {
    if (config.incremental === false) return Promise.resolve();
    following ??= (async () => {
      for (const contract of identity.settings.contracts) {
        subscriptions.push(await services.bus.subscribe<ChangeEventData>(`edu.${contract}`, IDENTITY_GROUP, onBatch, { maxBatch: 500 }));
      }
    })();
    return following;
  };

  const instance: IdentityInstance = {
    identity,
    follow,
    async start() {
      // The hub starts plugins only in processes that do background work (`vochub start`, `vochub worker`),
      // never in one-shot CLI commands or an API-only process: those must not compete for the group's events.
      await follow();
      if (config.schedule) {
        cron = new Cron(config.schedule, { protect: true, name: 'identity-match' }, () => {
          identity.matchAll(SYSTEM_ACTOR)
            .then(() => db.setMeta('fullMatchAt', new Date().toISOString()))
            .catch((error: unknown) => context.logger.error({ err: error }, 'scheduled identity match failed'));
        });
      }
    },
    async stop() {
      cron?.stop();
      await following?.catch(() => undefined);
      for (const s of subscriptions.splice(0)) await s.close();
      await identity.serial(async () => undefined);
      db.close();
    },
    async health() {
      const counts = db.counts();
      return { ok: true, detail: `${counts.goldens} golden, ${counts.links} links, ${counts.openReview} open review` };
    },
    async routes(app, kit) {
      await identityRoutes(app, kit, identity);
    },
  };
  return instance;
};

export default factory;
