// CloudEvents envelope checks shared by every transport, so an event refused by one is refused by all.
import { randomUUID } from 'node:crypto';
import { VochubError } from '../errors.ts';
import type { CloudEvent } from './types.ts';

/** Same default as the later Kafka transport (message.max.bytes), so no event fits one transport and not another. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

const STANDARD = new Set([
  'specversion', 'id', 'source', 'type', 'time', 'subject', 'dataschema', 'datacontenttype', 'data',
  'member', 'partitionkey',
]);
const REQUIRED_STRINGS = ['id', 'source', 'type', 'member', 'partitionkey'] as const;
const EXTENSION_NAME = /^[a-z0-9]+$/;
// RFC 3339 date-time with a mandatory offset (Z or ±hh:mm): local times without an offset are ambiguous.
const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface EnvelopeIssue {
  /** Index of the event in the publish call. */
  index: number;
  field: string;
  message: string;
}

/** Lists everything wrong with one event (empty when it is a valid vochub CloudEvent). */
export function checkEnvelope(event: unknown, index = 0): EnvelopeIssue[] {
  const issues: EnvelopeIssue[] = [];
  const add = (field: string, message: string): void => {
    issues.push({ index, field, message });
  };
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    add('', '事件必须是对象 / event must be an object');
    return issues;
  }
  const e = event as Record<string, unknown>;
  if (e.specversion !== '1.0') add('specversion', "specversion 必须为 '1.0' / specversion must be '1.0'");
  for (const field of REQUIRED_STRINGS) {
    const value = e[field];
    if (typeof value !== 'string' || value.length === 0) add(field, `${field} 必须是非空字符串 / ${field} must be a non-empty string`);
  }
  if (typeof e.time !== 'string' || !RFC3339.test(e.time)) {
    add('time', 'time 必须是带时区偏移的 RFC 3339 时间 / time must be RFC 3339 with an offset');
  }
  if (e.datacontenttype !== 'application/json') {
    add('datacontenttype', "datacontenttype 必须为 'application/json' / datacontenttype must be 'application/json'");
  }
  for (const field of ['subject', 'dataschema'] as const) {
    if (e[field] !== undefined && (typeof e[field] !== 'string' || (e[field] as string).length === 0)) {
      add(field, `${field} 必须是非空字符串 / ${field} must be a non-empty string when present`);
    }
  }
  if (!('data' in e) || e.data === undefined) add('data', '缺少 data / data is missing');
  for (const name of Object.keys(e)) {
    if (STANDARD.has(name)) continue;
    if (!EXTENSION_NAME.test(name)) {
      add(name, `扩展属性名只能包含小写字母和数字 / extension name "${name}" must be lowercase a-z0-9`);
    } else if (typeof e[name] !== 'string') {
      add(name, `扩展属性值必须是字符串 / extension "${name}" must have a string value`);
    }
  }
  return issues;
}

/** Validates and serialises one publish call; throws before anything is written, so a call is all or nothing. */
export function encodeEvents(events: readonly CloudEvent[], maxEventBytes: number): string[] {
  if (!Array.isArray(events)) {
    throw new VochubError('BUS_EVENT_INVALID', '发布内容必须是事件数组 / publish expects an array of events', { status: 400 });
  }
  const issues: EnvelopeIssue[] = [];
  for (let i = 0; i < events.length; i++) {
    const found = checkEnvelope(events[i], i);
    if (found.length > 0) issues.push(...found);
  }
  if (issues.length > 0) {
    const summary = issues.slice(0, 10).map((x) => `#${x.index} ${x.field}: ${x.message}`).join('; ');
    throw new VochubError('BUS_EVENT_INVALID', `事件信封无效 / invalid CloudEvents envelope: ${summary}`, {
      status: 400,
      details: { issues },
    });
  }
  const encoded = new Array<string>(events.length);
  for (let i = 0; i < events.length; i++) {
    const json = JSON.stringify(events[i]);
    // Cheap upper bound first: a UTF-8 byte is at most 3 per UTF-16 unit, so most events skip the exact count.
    if (json.length * 3 > maxEventBytes) {
      const bytes = Buffer.byteLength(json, 'utf8');
      if (bytes > maxEventBytes) {
        throw new VochubError(
          'BUS_EVENT_TOO_LARGE',
          `事件过大 / event #${i} is ${bytes} bytes, larger than the limit of ${maxEventBytes} bytes; split it or send a reference`,
          { status: 413, details: { index: i, bytes, maxEventBytes } },
        );
      }
    }
    encoded[i] = json;
  }
  return encoded;
}

/** One string for (source, id): the length prefix keeps ('a', 'bc') and ('ab', 'c') apart. */
export function dedupeKey(source: string, id: string): string {
  return `${source.length}:${source}${id}`;
}

export function checkName(kind: 'topic' | 'group', name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new VochubError('BUS_NAME_INVALID', `${kind} 名称无效 / invalid ${kind} name: use A-Z a-z 0-9 . _ - (max 200)`, {
      status: 400,
      details: { kind },
    });
  }
}

/** RFC 3339 with the local offset, e.g. 2024-03-01T08:30:00.000+08:00 (what Chinese member systems expect to read). */
export function rfc3339(date: Date = new Date()): string {
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000);
  const sign = offsetMin >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local.toISOString().slice(0, 23)}${sign}${hh}:${mm}`;
}

export interface MakeEventInput<T> {
  source: string;
  type: string;
  member: string;
  partitionkey: string;
  data: T;
  /** Deterministic where the input is (file sha + line), so a re-send dedupes; random otherwise. */
  id?: string;
  subject?: string;
  dataschema?: string;
  time?: string | Date;
  /** Extra CloudEvents extensions: lowercase a-z0-9 names, string values. */
  extensions?: Record<string, string>;
}

export function makeEvent<T>(input: MakeEventInput<T>): CloudEvent<T> {
  const event: CloudEvent<T> = {
    ...input.extensions,
    specversion: '1.0',
    id: input.id ?? randomUUID(),
    source: input.source,
    type: input.type,
    time: typeof input.time === 'string' ? input.time : rfc3339(input.time),
    datacontenttype: 'application/json',
    member: input.member,
    partitionkey: input.partitionkey,
    data: input.data,
  };
  if (input.subject !== undefined) event.subject = input.subject;
  if (input.dataschema !== undefined) event.dataschema = input.dataschema;
  return event;
}
