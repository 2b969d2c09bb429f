// hr-rest adapter: paged JSON HR APIs (page / offset / cursor / Link-header paging) → contract records,
// big-integer safe (C17), outbound URLs on an allow-list, auth header from a secret reference.
import { configError, VochubError, type Problem } from '../../core/errors.ts';
import type { DiscoveredEntity, HealthReport, PluginFactory, PluginInstance, ReadBatch, SourceRecord } from '../../core/plugins/types.ts';
import { convert, normalizeSpec, type FieldSpec } from '../hr-file/src/fields.ts';
import { assertAllowed, fetchPage, nextLink, type FetchSettings } from './src/fetch.ts';
import { parseJsonLossless } from './src/json.ts';

export interface Paging {
  style: 'none' | 'page' | 'offset' | 'cursor' | 'link';
  pageSize?: number;
  pageParam?: string;
  sizeParam?: string;
  startPage?: number;
  offsetParam?: string;
  limitParam?: string;
  cursorParam?: string;
  /** Dot path of the next cursor in the body (cursor style). */
  cursorPath?: string;
}

export interface HrResource {
  /** Path relative to baseUrl (may carry a query). */
  path: string;
  contract: string;
  /** Dot path of the item list in the body (`data`, `result.items`); empty: the body is the list. */
  items?: string;
  paging?: Paging;
  key: string;
  fields: Record<string, FieldSpec>;
  defaults?: Record<string, unknown>;
  extensions?: string[];
}

export interface HrRestConfig {
  baseUrl: string;
  allowedHosts: string[];
  auth?: { header?: string; scheme?: string; token: string };
  resources: HrResource[];
  zone?: string;
  timeoutMs?: number;
  retries?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  maxPages?: number;
}

interface Cursor {
  resource: number;
  /** Next request URL (all styles: computed before the page is committed). */
  next?: string;
  page?: number;
  offset?: number;
}

function pathGet(value: unknown, path: string | undefined): unknown {
  if (path === undefined || path === '') return value;
  let node = value;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function withParams(url: string, params: Record<string, string | number | undefined>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

const createHrRestAdapter: PluginFactory<HrRestConfig> = (context) => {
  const { config } = context;
  if (config?.baseUrl === undefined || config.resources === undefined) throw configError('hr-rest: 缺少 baseUrl 或 resources / baseUrl and resources are required');
  if (!Array.isArray(config.allowedHosts) || config.allowedHosts.length === 0) throw configError('hr-rest: 需要 allowedHosts / allowedHosts is required');
  assertAllowed(config.baseUrl, config.allowedHosts);
  for (const r of config.resources) if (!context.contracts.has(r.contract)) throw configError(`hr-rest: 未知契约 / unknown contract ${r.contract}`);
  const headers: Record<string, string> = {};
  if (config.auth !== undefined) headers[(config.auth.header ?? 'authorization').toLowerCase()] = config.auth.scheme === '' ? config.auth.token : `${config.auth.scheme ?? 'Bearer'} ${config.auth.token}`;
  const settings: FetchSettings = {
    allowedHosts: config.allowedHosts,
    headers,
    timeoutMs: config.timeoutMs ?? 30_000,
    retries: Math.max(0, config.retries ?? 3),
    backoff: { baseMs: config.backoff?.baseMs ?? 200, maxMs: config.backoff?.maxMs ?? 10_000 },
    logger: context.logger,
  };
  const zone = config.zone ?? '+08:00';
  const maxPages = config.maxPages ?? 100_000;
  const base = config.baseUrl.endsWith('/') ? config.baseUrl : `${config.baseUrl}/`;

  const firstUrl = (r: HrResource): Cursor & { next: string } => {
    const url = new URL(r.path.replace(/^\//, ''), base).toString();
    const p = r.paging ?? { style: 'none' };
    const size = p.pageSize ?? 100;
    switch (p.style) {
      case 'page':
        return { resource: 0, page: p.startPage ?? 1, next: withParams(url, { [p.pageParam ?? 'page']: p.startPage ?? 1, [p.sizeParam ?? 'size']: size }) };
      case 'offset':
        return { resource: 0, offset: 0, next: withParams(url, { [p.offsetParam ?? 'offset']: 0, [p.limitParam ?? 'limit']: size }) };
      case 'cursor':
        return { resource: 0, next: withParams(url, { [p.sizeParam ?? 'limit']: size }) };
      default:
        return { resource: 0, next: url };
    }
  };

  /** Where the next page is, from this page's answer; undefined when the resource is done. */
  const following = (r: HrResource, cursor: Cursor, url: string, body: unknown, items: unknown[], link: string | undefined): Cursor | undefined => {
    const p = r.paging ?? { style: 'none' };
    const size = p.pageSize ?? 100;
    switch (p.style) {
      case 'page':
        return items.length < size ? undefined : { ...cursor, page: cursor.page! + 1, next: withParams(url, { [p.pageParam ?? 'page']: cursor.page! + 1 }) };
      case 'offset':
        return items.length < size ? undefined : { ...cursor, offset: cursor.offset! + items.length, next: withParams(url, { [p.offsetParam ?? 'offset']: cursor.offset! + items.length }) };
      case 'cursor': {
        const c = pathGet(body, p.cursorPath ?? 'next');
        return c === undefined || c === null || c === '' ? undefined : { ...cursor, next: withParams(url, { [p.cursorParam ?? 'cursor']: String(c) }) };
      }
      case 'link': {
        const next = nextLink(link, url);
        return next === undefined ? undefined : { ...cursor, next };
      }
      default:
        return undefined;
    }
  };

  const mapItems = (r: HrResource, items: unknown[], origin: string, seen: Set<string>, records: SourceRecord[], problems: Problem[]): void => {
    const specs = Object.entries(r.fields).map(([f, s]) => [f, normalizeSpec(s)] as const);
    items.forEach((item, i) => {
      const at = { file: origin, line: i + 1, contract: r.contract };
      const rawKey = pathGet(item, r.key);
      const key = typeof rawKey === 'string' ? rawKey.trim() : typeof rawKey === 'number' ? String(rawKey) : '';
      if (key === '') {
        problems.push({ ...at, code: 'HR_KEY_MISSING', severity: 'error', message: `记录缺少主键 ${r.key} / the item has no key ${r.key}`, field: 'id' });
        return;
      }
      if (seen.has(key)) return;
      const data: Record<string, unknown> = { id: key };
      let bad = false;
      for (const [field, spec] of specs) {
        const raw = spec.from === undefined ? undefined : pathGet(item, spec.from);
        const res = convert(raw, spec, field, { zone });
        if (res.problem !== undefined) {
          bad = true;
          problems.push({ ...at, key, ...res.problem, severity: 'error', field, ...(spec.from === undefined ? {} : { column: spec.from }) });
        } else if (res.value !== undefined) {
          if (field.startsWith('extensions.')) ((data.extensions ??= {}) as Record<string, unknown>)[field.slice(11)] = res.value;
          else data[field] = res.value;
        }
      }
      if (bad) return;
      seen.add(key);
      for (const name of r.extensions ?? []) {
        const v = pathGet(item, name);
        if (v !== undefined && v !== null) ((data.extensions ??= {}) as Record<string, unknown>)[name] = v;
      }
      for (const [f, v] of Object.entries(r.defaults ?? {})) if (data[f] === undefined) data[f] = v;
      records.push({ contract: r.contract, key, op: 'upsert', data, location: { file: origin, line: i + 1 } });
    });
  };

  const instance: PluginInstance = {
    async check(): Promise<HealthReport> {
      try {
        const first = firstUrl(config.resources[0]!);
        await fetchPage(first.next, { ...settings, retries: 0 });
        return { ok: true, detail: config.baseUrl };
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      }
    },
    async discover(): Promise<DiscoveredEntity[]> {
      return config.resources.map((r) => ({ name: r.path, contract: r.contract, detail: r.paging?.style ?? 'none' }));
    },
    async *read(options): AsyncIterable<ReadBatch> {
      const resume = options.checkpoint as Cursor | undefined;
      const complete: string[] = [];
      for (let ri = resume?.resource ?? 0; ri < config.resources.length; ri++) {
        const r = config.resources[ri]!;
        let cursor: Cursor | undefined = resume !== undefined && resume.resource === ri && resume.next !== undefined ? resume : { ...firstUrl(r), resource: ri };
        const seen = new Set<string>();
        let failed = false;
        for (let page = 0; cursor !== undefined && page < maxPages; page++) {
          if (options.signal.aborted) return;
          const url: string = cursor.next!;
          const fetched = await fetchPage(url, settings);
          const records: SourceRecord[] = [];
          const problems: Problem[] = [];
          let body: unknown;
          try {
            body = parseJsonLossless(fetched.text);
          } catch (error) {
            // A page we cannot read: the rest of this resource is unknown, so the run is not complete.
            problems.push({ code: 'HR_REST_JSON', severity: 'error', message: `JSON 无法解析 / unparseable JSON: ${(error as Error).message}`, file: url, contract: r.contract });
            failed = true;
            yield { records, problems, checkpoint: { resource: ri + 1 } };
            break;
          }
          const list = pathGet(body, r.items);
          if (!Array.isArray(list)) {
            problems.push({ code: 'HR_REST_ITEMS_MISSING', severity: 'error', message: `响应中没有记录列表 ${r.items ?? '(body)'} / no item list at ${r.items ?? '(body)'}`, file: url, contract: r.contract });
            failed = true;
            yield { records, problems, checkpoint: { resource: ri + 1 } };
            break;
          }
          mapItems(r, list, url, seen, records, problems);
          const next = following(r, cursor, url, body, list, fetched.link);
          if (next !== undefined) assertAllowed(next.next!, config.allowedHosts);
          cursor = next;
          yield { records, problems, checkpoint: next ?? { resource: ri + 1 } };
        }
        if (cursor !== undefined) {
          throw new VochubError('HR_REST_TOO_MANY_PAGES', `分页超过上限 ${maxPages} / more than ${maxPages} pages`, { status: 502 });
        }
        if (!failed && options.mode === 'full') complete.push(r.contract);
      }
      yield { records: [], problems: [], ...(complete.length > 0 ? { complete } : {}) };
    },
  };
  return instance;
};

export default createHrRestAdapter;
