// Moves committed changes from the store's outbox to the bus as CloudEvents, after they are
// durable, so subscribers see every change exactly once per source+id (the event id is the outbox
// sequence, stable across relay restarts: a re-sent batch is absorbed by dedupe).
// PII stays encrypted in the event: the payload carries the clear fields and the PII ciphertext,
// which only a holder of the vault can open.
import type { Bus, CloudEvent } from '../bus/types.ts';
import type { ContractRegistry } from '../contracts/types.ts';
import type { Logger } from '../logger.ts';
import type { OutboxEntry, Store } from '../store/types.ts';

export const CHANGE_SOURCE = '/hub/store';

export function changeTopic(contract: string): string {
  return `edu.${contract}`;
}

export interface ChangeEventData {
  contract: string;
  key: string;
  version: number;
  runId?: string;
  /** Clear (non-PII) fields; absent for deletes. */
  record?: Record<string, unknown>;
  /** PII ciphertext (see core/security/pii.ts), or null. */
  pii?: string | null;
}

export async function buildChangeEvents(store: Store, contracts: ContractRegistry, entries: OutboxEntry[]): Promise<Map<string, CloudEvent<ChangeEventData>[]>> {
  const byTopic = new Map<string, CloudEvent<ChangeEventData>[]>();
  for (const entry of entries) {
    const data: ChangeEventData = { contract: entry.contract, key: entry.key, version: entry.version, runId: entry.runId };
    if (entry.op === 'upserted') {
      const record = await store.getRecord(entry.member, entry.contract, entry.key);
      // A later change may already have replaced this version: the newer outbox entry carries it.
      if (record) {
        data.record = record.data;
        data.pii = record.pii;
      }
    }
    const info = contracts.has(entry.contract) ? contracts.get(entry.contract) : undefined;
    const event: CloudEvent<ChangeEventData> = {
      specversion: '1.0',
      id: `outbox-${entry.seq}`,
      source: CHANGE_SOURCE,
      type: `edu.${entry.contract}.${entry.op}.v${info?.version ?? 1}`,
      time: entry.at,
      subject: `${entry.member}/${entry.contract}/${entry.key}`,
      dataschema: info?.$id,
      datacontenttype: 'application/json',
      member: entry.member,
      partitionkey: `${entry.member}/${entry.contract}/${entry.key}`,
      data,
    };
    const topic = changeTopic(entry.contract);
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(event);
  }
  return byTopic;
}

export interface OutboxRelay {
  /** Publishes everything committed so far; resolves with the number of events sent. */
  flush(): Promise<number>;
  /** Wakes the relay now instead of at the next poll. */
  poke(): void;
  stop(): Promise<void>;
}

export function startOutboxRelay(options: { store: Store; bus: Bus; contracts: ContractRegistry; logger: Logger; intervalMs?: number; batchSize?: number }): OutboxRelay {
  const { store, bus, contracts, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  let running: Promise<number> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const drain = async (): Promise<number> => {
    let sent = 0;
    // The outbox keeps only unpublished entries (published ones are pruned), so reading from 0 is correct.
    for (;;) {
      const entries = await store.readOutbox(0, batchSize);
      if (entries.length === 0) return sent;
      const byTopic = await buildChangeEvents(store, contracts, entries);
      for (const [topic, events] of byTopic) await bus.publish(topic, events);
      await store.markOutboxPublished(entries[entries.length - 1]!.seq);
      sent += entries.length;
      if (stopped) return sent;
    }
  };

  const flush = (): Promise<number> => {
    running ??= drain().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      flush()
        .catch((error: unknown) => logger.error({ err: error }, 'outbox relay failed; will retry'))
        .finally(schedule);
    }, options.intervalMs ?? 500);
    timer.unref();
  };
  schedule();

  return {
    flush,
    poke: () => void flush().catch((error: unknown) => logger.error({ err: error }, 'outbox relay failed; will retry')),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
