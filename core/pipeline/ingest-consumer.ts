// Inbound path through the bus: push sources (webhooks, member systems' topics) and replays of fixed
// problem records publish `vochub.ingest.record.v1` events to the `vochub.ingest` topic; the `store`
// consumer group runs them through the same clean → validate → protect → upsert as file imports.
// Bad data becomes a problem record (acked: it is handled); a failure of ours (store down) naks with
// backoff and, after the retries, lands in the dead-letter queue with its context.
import type { Bus, CloudEvent, Delivery, Subscription } from '../bus/types.ts';
import type { ContractRegistry } from '../contracts/types.ts';
import type { Logger } from '../logger.ts';
import type { SourceRecord } from '../plugins/types.ts';
import type { PiiVault } from '../security/types.ts';
import type { Store } from '../store/types.ts';
import { VochubError } from '../errors.ts';
import { commitBatch } from './process.ts';

export const INGEST_TOPIC = 'vochub.ingest';
export const INGEST_TYPE = 'vochub.ingest.record.v1';
export const STORE_GROUP = 'store';

export interface IngestEventData {
  record: SourceRecord;
  /** Adapter instance the record belongs to (provenance, sweeps). */
  adapter: string;
  /** Run the record is attributed to. */
  runId: string;
}

export interface IngestDeps {
  store: Store;
  bus: Bus;
  contracts: ContractRegistry;
  vault: PiiVault;
  logger: Logger;
}

export function ingestEvent(member: string, data: IngestEventData, id: string, source: string): CloudEvent<IngestEventData> {
  return {
    specversion: '1.0',
    id,
    source,
    type: INGEST_TYPE,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    member,
    partitionkey: `${member}/${data.record.contract}/${data.record.key}`,
    data,
  };
}

function isIngestData(value: unknown): value is IngestEventData {
  const v = value as IngestEventData | undefined;
  return !!v && typeof v.adapter === 'string' && typeof v.runId === 'string' && !!v.record && typeof v.record.contract === 'string' && typeof v.record.key === 'string';
}

export async function startIngestConsumer(deps: IngestDeps): Promise<Subscription> {
  return deps.bus.subscribe<IngestEventData>(INGEST_TOPIC, STORE_GROUP, async (batch: Delivery<IngestEventData>[]) => {
    // Group by (member, adapter, run) so each group commits in one transaction.
    const groups = new Map<string, Delivery<IngestEventData>[]>();
    for (const d of batch) {
      if (d.event.type !== INGEST_TYPE || !isIngestData(d.event.data)) {
        d.term({ code: 'INGEST_EVENT_INVALID', message: `not a ${INGEST_TYPE} event`, stage: 'route' });
        continue;
      }
      const k = `${d.event.member}\u0000${d.event.data.adapter}\u0000${d.event.data.runId}`;
      let list = groups.get(k);
      if (!list) groups.set(k, (list = []));
      list.push(d);
    }
    for (const deliveries of groups.values()) {
      const first = deliveries[0]!.event;
      try {
        await commitBatch(
          { store: deps.store, contracts: deps.contracts, vault: deps.vault, member: first.member, adapter: first.data.adapter, runId: first.data.runId },
          { records: deliveries.map((d) => d.event.data.record), problems: [] },
        );
        for (const d of deliveries) d.ack();
      } catch (error) {
        const code = error instanceof VochubError ? error.code : 'STORE_WRITE_FAILED';
        deps.logger.warn({ code, member: first.member }, 'ingest batch failed; will retry');
        for (const d of deliveries) d.nak();
      }
    }
  });
}
