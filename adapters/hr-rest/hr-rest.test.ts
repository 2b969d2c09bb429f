// hr-rest against a real in-process HTTP server serving paged fixture JSON: every paging style,
// big-integer-safe parsing (C17), allow-list on outbound URLs, retries, auth header from a secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSharedRegistry } from '../../core/contracts/index.ts';
import { silentLogger } from '../../core/logger.ts';
import type { PluginInstance, ReadBatch } from '../../core/plugins/types.ts';
import createHrRestAdapter, { type HrResource, type HrRestConfig, type Paging } from './index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixtureText = readFileSync(join(here, 'fixtures/employees.json'), 'utf8');
const c17Text = readFileSync(join(here, '../../tests/fixtures/cases/C17-bigint-ids.json'), 'utf8');
const registry = getSharedRegistry();
// The item texts, sliced from the file without JSON.parse (which would round the ids).
const itemTexts = fixtureText.slice(fixtureText.indexOf('[') + 1, fixtureText.lastIndexOf(']')).trim().split(/,\n/);

let server: Server;
let base = '';
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let failNext = 0;

function page(items: string[], extra = ''): string {
  return `{"code":0,"data":[${items.join(',')}]${extra}}`;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, base);
    seen.push({ url: url.pathname + url.search, headers: req.headers });
    if (failNext > 0) {
      failNext--;
      res.writeHead(503).end('busy');
      return;
    }
    const q = url.searchParams;
    const json = (body: string, headers: Record<string, string> = {}) => res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(body);
    switch (url.pathname) {
      case '/c17':
        return json(c17Text);
      case '/page': {
        const n = Number(q.get('page'));
        const size = Number(q.get('size'));
        return json(page(itemTexts.slice((n - 1) * size, n * size)));
      }
      case '/offset': {
        const o = Number(q.get('offset'));
        return json(page(itemTexts.slice(o, o + Number(q.get('limit')))));
      }
      case '/cursor': {
        const from = Number(q.get('cursor') ?? 0);
        const to = from + Number(q.get('limit'));
        return json(page(itemTexts.slice(from, to), to < itemTexts.length ? `,"next":"${to}"` : ',"next":null'));
      }
      case '/link': {
        const from = Number(q.get('from') ?? 0);
        const to = from + 3;
        const links = [`<${base}/link?from=0>; rel="first"`];
        if (to < itemTexts.length) links.push(`</link?from=${to}>; rel="next"`);
        return json(page(itemTexts.slice(from, to)), { link: links.join(', ') });
      }
      case '/evil-link':
        return json(page(itemTexts.slice(0, 1)), { link: '<http://169.254.169.254/latest/meta-data>; rel="next"' });
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => server.close());

const employeeFields: HrResource['fields'] = {
  name: 'name',
  mentorId: { from: 'mentorId', type: 'id' },
  departmentId: 'dept',
  hireDate: { from: 'hiredOn', type: 'date' },
  dateLastModified: { from: 'updatedAt', type: 'date-time' },
  'extensions.yearsOfService': { from: 'yearsOfService', type: 'integer' },
};

function config(path: string, paging: Paging, extra: Partial<HrRestConfig> = {}): HrRestConfig {
  return {
    baseUrl: base,
    allowedHosts: [new URL(base).host],
    // What the plugin host hands over after resolving `${env:HR_API_TOKEN}`.
    auth: { token: 'token-from-secret-ref' },
    retries: 2,
    backoff: { baseMs: 1, maxMs: 5 },
    resources: [{ path, contract: 'employee', items: 'data', paging, key: 'employeeId', fields: employeeFields, defaults: { enterpriseId: '91330106MA2DEMAW1X' } }],
    ...extra,
  };
}

async function readAll(cfg: HrRestConfig) {
  const instance: PluginInstance = await createHrRestAdapter({ instance: 'hr', config: cfg, baseDir: here, dataDir: mkdtempSync(join(tmpdir(), 'vochub-hrrest-')), contracts: registry, logger: silentLogger });
  const batches: ReadBatch[] = [];
  for await (const b of instance.read!({ mode: 'full', signal: new AbortController().signal })) batches.push(b);
  return { batches, records: batches.flatMap((b) => b.records), problems: batches.flatMap((b) => b.problems) };
}

describe('hr-rest adapter', () => {
  it('C17: the two 64-bit ids stay distinct strings and the mentor link points at the mentor', async () => {
    expect(new Set((JSON.parse(c17Text) as { data: { employeeId: number; mentorId: number | null }[] }).data.flatMap((d) => [d.employeeId, d.mentorId]).filter((x) => x !== null)).size).toBe(1);
    const { records, problems } = await readAll({ ...config('/c17', { style: 'none' }), resources: [{ path: '/c17', contract: 'employee', items: 'data', key: 'employeeId', fields: { name: 'name', mentorId: { from: 'mentorId', type: 'id' } }, defaults: { enterpriseId: 'ENT-1' } }] });
    expect(problems).toEqual([]);
    expect(records.map((r) => [r.key, r.data.mentorId])).toEqual([
      ['1693745891234567890', '1693745891234567891'],
      ['1693745891234567891', undefined],
    ]);
    for (const r of records) expect(registry.validate('employee', r.data)).toEqual({ ok: true });
  });

  it.each([
    ['page', '/page', { style: 'page', pageSize: 3 }, 3],
    ['offset', '/offset', { style: 'offset', pageSize: 3 }, 3],
    ['cursor', '/cursor', { style: 'cursor', pageSize: 3, cursorPath: 'next' }, 3],
    ['link', '/link', { style: 'link' }, 3],
  ] as const)('%s paging reads every item once; unsafe integers where a number is expected are refused', async (_name, path, paging, pages) => {
    seen.length = 0;
    const { records, problems, batches } = await readAll(config(path, paging as Paging));
    expect(records.map((r) => r.key)).toEqual(['1693745891234567890', '1693745891234567891', '1693745891234567892', 'E-0004', '5', '1693745891234567897']);
    expect(problems.map((p) => [p.code, p.key, p.field])).toEqual([['NUMBER_UNSAFE_INTEGER', '1693745891234567896', 'extensions.yearsOfService']]);
    expect(records[0]!.data).toMatchObject({ mentorId: '1693745891234567891', hireDate: '2025-03-01', dateLastModified: '2025-03-01T09:00:00+08:00', extensions: { yearsOfService: 0 } });
    expect(records[2]!.data.dateLastModified).toBe('2025-02-01T08:00:00Z');
    for (const r of records) expect(registry.validate('employee', r.data)).toEqual({ ok: true });
    expect(seen.filter((s) => s.url.startsWith(path))).toHaveLength(pages);
    expect(seen.every((s) => s.headers.authorization === 'Bearer token-from-secret-ref')).toBe(true);
    expect(batches.at(-1)!.complete).toEqual(['employee']);
  });

  it('retries an unavailable page with backoff, then goes on', async () => {
    seen.length = 0;
    failNext = 2;
    const { records } = await readAll(config('/page', { style: 'page', pageSize: 3 }));
    expect(records).toHaveLength(6);
    expect(seen.filter((s) => s.url.startsWith('/page?page=1'))).toHaveLength(3);
  });

  it('refuses URLs outside the allow-list: the base URL at start-up, a next link handed back by the peer', async () => {
    expect(() => createHrRestAdapter({ instance: 'hr', config: { ...config('/page', { style: 'page' }), allowedHosts: ['hr.example.com'] }, baseDir: here, dataDir: tmpdir(), contracts: registry, logger: silentLogger })).toThrow(
      expect.objectContaining({ code: 'HR_REST_URL_REFUSED' }),
    );
    await expect(readAll(config('/evil-link', { style: 'link' }))).rejects.toMatchObject({ code: 'HR_REST_URL_REFUSED' });
  });
});
