// Lazy loading of node-rdkafka and the small slice of its API the Kafka transport uses. node-rdkafka compiles
// librdkafka on install (minutes), so it is an optional peer dependency: nothing imports it unless a group chooses
// `bus.transport: kafka`. Its types are declared here (structurally) so the project type-checks without it.
import { VochubError } from '../errors.ts';

export type Header = Record<string, Buffer | string>;

export interface KMessage {
  value: Buffer | null;
  key?: Buffer | string | null;
  topic: string;
  partition: number;
  offset: number;
  size: number;
  timestamp?: number;
  headers?: Header[];
}

export interface KError extends Error {
  code: number;
  isRetriable?: boolean;
}

export interface TopicPartition {
  topic: string;
  partition: number;
  offset?: number;
}

export interface KClient {
  connect(options: Record<string, unknown>, cb: (err: KError | null) => void): void;
  disconnect(cb?: (err?: unknown) => void): void;
  isConnected(): boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  queryWatermarkOffsets(topic: string, partition: number, timeout: number, cb: (err: KError | null, o: { highOffset: number; lowOffset: number }) => void): void;
  getMetadata(options: { topic?: string; timeout?: number }, cb: (err: KError | null, md: { topics: { name: string; partitions: { id: number }[] }[] }) => void): void;
}

export interface KProducer extends KClient {
  produce(topic: string, partition: number | null, value: Buffer | null, key: string | Buffer | null, timestamp: number | null, opaque: unknown, headers?: Header[]): unknown;
  setPollInterval(ms: number): unknown;
  flush(timeout: number, cb: (err: KError | null) => void): void;
}

export interface KConsumer extends KClient {
  assign(assignments: TopicPartition[]): unknown;
  unassign(): unknown;
  assignments(): TopicPartition[];
  subscribe(topics: string[]): unknown;
  unsubscribe(): unknown;
  commit(offsets: TopicPartition[]): unknown;
  commitSync(offsets: TopicPartition[]): unknown;
  committed(toppars: TopicPartition[], timeout: number, cb: (err: KError | null, tps: TopicPartition[]) => void): unknown;
  consume(n: number, cb: (err: KError | null, messages: KMessage[]) => void): void;
  setDefaultConsumeTimeout(ms: number): void;
}

export interface KAdmin {
  createTopic(topic: { topic: string; num_partitions: number; replication_factor: number; config?: Record<string, string> }, timeout: number, cb: (err: KError | null) => void): void;
  disconnect(): void;
}

export interface Rdkafka {
  Producer: new (conf: Record<string, unknown>, topicConf?: Record<string, unknown>) => KProducer;
  KafkaConsumer: new (conf: Record<string, unknown>, topicConf?: Record<string, unknown>) => KConsumer;
  AdminClient: { create(conf: Record<string, unknown>): KAdmin };
  CODES: { ERRORS: Record<string, number> };
  librdkafkaVersion: string;
}

let loaded: Promise<Rdkafka> | undefined;

export const INSTALL_HINT =
  '需要安装 node-rdkafka（编译 librdkafka 约需数分钟）/ the Kafka transport needs node-rdkafka: ' +
  'run `bash scripts/services/rdkafka.sh` (cached build, linked into node_modules) or `npm install --no-save node-rdkafka@3` ' +
  '(first: apt-get install libzstd-dev libsasl2-dev libcurl4-openssl-dev)';

/** Imports node-rdkafka once; BUS_TRANSPORT_UNAVAILABLE (how to install it) when it is missing or fails to load. */
export function loadRdkafka(): Promise<Rdkafka> {
  loaded ??= (async () => {
    // A variable specifier: the compiler must not try to resolve an optional package.
    const specifier = process.env.VOCHUB_RDKAFKA_MODULE || 'node-rdkafka';
    try {
      const mod = (await import(specifier)) as { default?: Rdkafka } & Rdkafka;
      return (mod.default ?? mod) as Rdkafka;
    } catch (error) {
      loaded = undefined;
      throw new VochubError('BUS_TRANSPORT_UNAVAILABLE', `${INSTALL_HINT} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`, {
        status: 501,
        cause: error,
      });
    }
  })();
  return loaded;
}

/** Promise wrapper for node-style callbacks. */
export function call<T>(fn: (cb: (err: unknown, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}
