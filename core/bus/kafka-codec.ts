// CloudEvents Kafka protocol binding, binary content mode: the record value is the event's `data` (JSON), every
// other attribute travels in a `ce_<name>` header, `content-type` carries datacontenttype, and the record key is the
// partition key (so all events of one key land on one partition, in order).
import type { CloudEvent } from './types.ts';
import type { Header, KMessage } from './kafka-client.ts';

/** Our own headers (not CloudEvents attributes): DLQ replays and the attempt count carried to a retry topic. */
export const H_REPLAY = 'vochub_replay';

export function encodeHeaders(event: CloudEvent, extra?: Record<string, string>): Header[] {
  const headers: Header[] = [{ 'content-type': event.datacontenttype ?? 'application/json' }];
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'datacontenttype' || value === undefined) continue;
    headers.push({ [`ce_${name}`]: String(value) });
  }
  if (extra) for (const [name, value] of Object.entries(extra)) headers.push({ [name]: value });
  return headers;
}

export function encodeValue(event: CloudEvent): Buffer {
  return Buffer.from(JSON.stringify(event.data), 'utf8');
}

export interface Decoded {
  event: CloudEvent;
  /** Our non-CloudEvents headers. */
  meta: Record<string, string>;
}

export function decodeMessage(message: KMessage): Decoded {
  const attrs: Record<string, unknown> = {};
  const meta: Record<string, string> = {};
  for (const header of message.headers ?? []) {
    for (const [name, raw] of Object.entries(header)) {
      const value = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
      if (name.startsWith('ce_')) attrs[name.slice(3)] = value;
      else if (name === 'content-type') attrs.datacontenttype = value;
      else meta[name] = value;
    }
  }
  attrs.data = message.value === null ? null : JSON.parse(message.value.toString('utf8'));
  return { event: attrs as CloudEvent, meta };
}
