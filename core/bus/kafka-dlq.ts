// Dead letters of the Kafka transport live in Kafka itself: one compacted topic `<prefix>_dlq` (1 partition, kept
// forever), one record per entry state, key = entry id, value = the whole DeadLetter as JSON. Every bus tails the
// topic into an in-memory index; list/get first catch up to the topic's end, so an entry written by any worker is
// seen by any API process. Replay produces to the group's retry topic, then writes the entry again as `replayed`.
import { VochubError } from '../errors.ts';
import { pageLimit } from './memory.ts';
import { call, type KConsumer, type KMessage } from './kafka-client.ts';
import type { KafkaBus } from './kafka.ts';
import type { CloudEvent, DeadLetter, DeadLetterQuery, DeadLetterQueue } from './types.ts';

interface Indexed {
  entry: DeadLetter;
  /** Offset of the first record of the entry: list order and paging cursor. */
  order: number;
}

export class KafkaDlq implements DeadLetterQueue {
  readonly topic: string;
  private readonly entries = new Map<string, Indexed>();
  private reader: KConsumer | undefined;
  private position = 0;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private starting: Promise<void> | undefined;

  constructor(private readonly bus: KafkaBus) {
    this.topic = `${bus.prefix}_dlq`;
  }

  async start(): Promise<void> {
    await this.bus.ensureTopic(this.topic, { 'cleanup.policy': 'compact', 'retention.ms': '-1' }, 1);
  }

  /** Produces entries (new or with a new status) and waits for the broker's ack. */
  async write(entries: DeadLetter[]): Promise<void> {
    await this.bus.produce(entries.map((entry) => ({
      topic: this.topic,
      key: entry.id,
      value: Buffer.from(JSON.stringify(entry), 'utf8'),
      headers: [{ 'content-type': 'application/json' }],
    })));
  }

  private startReader(): Promise<void> {
    this.starting ??= (async () => {
      const consumer = new this.bus.kafka.KafkaConsumer({
        ...this.bus.baseConfig(),
        'group.id': `${this.bus.prefix}_dlq-reader`,
        'enable.auto.commit': false,
        'fetch.wait.max.ms': 20,
      }, {});
      consumer.setDefaultConsumeTimeout(50);
      await call<unknown>((cb) => consumer.connect({ timeout: 15_000 }, (err) => cb(err, undefined)));
      // Assigned, not subscribed: every bus reads the whole topic, no group membership.
      consumer.assign([{ topic: this.topic, partition: 0, offset: -2 }]);
      this.reader = consumer;
      this.loop = this.read(consumer);
    })();
    return this.starting;
  }

  private async read(consumer: KConsumer): Promise<void> {
    while (!this.stopped) {
      let messages: KMessage[];
      try {
        messages = await call<KMessage[]>((cb) => consumer.consume(1000, cb));
      } catch (error) {
        if (this.stopped) return;
        this.bus.reportError('dlq read', error);
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      for (const m of messages) {
        this.position = Math.max(this.position, m.offset + 1);
        if (!m.value) continue;
        try {
          const entry = JSON.parse(m.value.toString('utf8')) as DeadLetter;
          const known = this.entries.get(entry.id);
          this.entries.set(entry.id, { entry, order: known?.order ?? m.offset });
        } catch (error) {
          this.bus.reportError('dlq decode', error);
        }
      }
    }
  }

  /** Waits until the index holds every record written so far (by any process). */
  private async sync(): Promise<void> {
    this.bus.assertOpen();
    await this.startReader();
    const { highOffset } = await this.bus.watermarks(this.topic, 0);
    const deadline = Date.now() + 30_000;
    while (this.position < highOffset) {
      if (Date.now() > deadline) {
        throw new VochubError('BUS_UNAVAILABLE', '死信索引读取超时 / the dead-letter topic could not be read in 30 s', { status: 503 });
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async list(query: DeadLetterQuery = {}): Promise<{ items: DeadLetter[]; next?: string }> {
    const limit = pageLimit(query.limit);
    const after = query.after === undefined ? -1 : Number(query.after);
    if (!Number.isInteger(after)) throw new VochubError('BUS_OPTIONS_INVALID', '分页游标无效 / invalid paging cursor', { status: 400 });
    await this.sync();
    const sorted = [...this.entries.values()].sort((a, b) => a.order - b.order);
    const items: Indexed[] = [];
    let more = false;
    for (const it of sorted) {
      const e = it.entry;
      if (it.order <= after) continue;
      if (query.topic !== undefined && e.topic !== query.topic) continue;
      if (query.group !== undefined && e.group !== query.group) continue;
      if (query.member !== undefined && e.event.member !== query.member) continue;
      if (query.status !== undefined && e.status !== query.status) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(it);
    }
    const page = items.map((it) => structuredClone(it.entry));
    return more ? { items: page, next: String(items[items.length - 1]!.order) } : { items: page };
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    await this.sync();
    const it = this.entries.get(id);
    return it ? structuredClone(it.entry) : undefined;
  }

  async replay(id: string, fix?: { data?: unknown }): Promise<void> {
    const entry = await this.open(id);
    const event = structuredClone(entry.event) as CloudEvent;
    if (fix && 'data' in fix) event.data = fix.data;
    await this.bus.replayTo(entry, event);
    await this.write([{ ...entry, status: 'replayed' }]);
    await this.sync();
  }

  async discard(id: string): Promise<void> {
    const entry = await this.open(id);
    await this.write([{ ...entry, status: 'discarded' }]);
    await this.sync();
  }

  private async open(id: string): Promise<DeadLetter> {
    await this.sync();
    const it = this.entries.get(id);
    if (!it) throw new VochubError('BUS_DLQ_NOT_FOUND', `死信不存在 / no dead letter ${id}`, { status: 404 });
    if (it.entry.status !== 'open') {
      throw new VochubError('BUS_DLQ_NOT_OPEN', `死信已处理 / dead letter ${id} is already ${it.entry.status}`, { status: 409 });
    }
    return it.entry;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => {});
    await this.loop;
    const reader = this.reader;
    this.reader = undefined;
    if (reader) await new Promise<void>((resolve) => reader.disconnect(() => resolve()));
  }
}
