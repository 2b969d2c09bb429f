// The code registry over HTTP on a real hub: tables with versions, effective-dated queries, code
// history with successors, diffs, label lookups, crosswalks, and loading the operator's catalogue
// (codes:manage only). The catalogue used is the SYNTHETIC sample of plugins/codes/samples.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../core/api/index.ts';
import { createHub, type Hub } from '../../core/hub.ts';
import { silentLogger } from '../../core/logger.ts';
import { createApiKey } from '../../core/security/api-keys.ts';

const samples = resolve(import.meta.dirname, 'samples');
let dir: string;
let hub: Hub;
let app: FastifyInstance;
let admin: string;
let reader: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vochub-codes-'));
  const file = join(dir, 'group.yaml');
  writeFileSync(file, JSON.stringify({
    group: { code: 'TEST', name: '测试集团' },
    hub: { bus: { transport: 'memory' }, store: { driver: 'sqlite' } },
    members: [{ code: '3133010103', name: '甲校', type: 'school', adapters: [] }],
    plugins: [{ name: 'codes', type: 'codes', config: { catalogues: [join(samples, 'vocational-catalogue.SYNTHETIC.csv')], crosswalks: [join(samples, 'member-local-crosswalk.SAMPLE.csv')] } }],
  }));
  hub = await createHub({ configPath: file, env: { ...process.env, VOCHUB_DATA: join(dir, 'var') }, logger: silentLogger, background: false });
  app = await buildApi(hub);
  admin = (await createApiKey(hub.store, { name: 'admin', role: 'group-admin', member: null })).key;
  reader = (await createApiKey(hub.store, { name: 'reader', role: 'member-admin', member: '3133010103' })).key;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call<T>(url: string, options: { key?: string; method?: 'GET' | 'POST'; payload?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await app.inject({ url: `/api/v1/codes${url}`, method: options.method ?? 'GET', headers: { authorization: `Bearer ${options.key ?? reader}` }, ...(options.payload ? { payload: options.payload as object } : {}) });
  return { status: res.statusCode, body: res.json() as T };
}

describe('codes API', () => {
  it('lists the tables with versions; the configured sample catalogue is loaded', async () => {
    const { status, body } = await call<{ items: { name: string; version?: string; current: number }[] }>('/tables');
    expect(status).toBe(200);
    const byName = Object.fromEntries(body.items.map((t) => [t.name, t]));
    expect(byName.GB2260!.current).toBe(3213);
    expect(byName['VOC-MAJORS']).toMatchObject({ current: 29, version: 'vocational-catalogue.SYNTHETIC.csv' });
  });

  it('queries a table as valid on a date, and shows one code’s history with its successor', async () => {
    const then = await call<{ entries: { code: string }[] }>('/tables/GB2260?at=2005-06-01&q=1101');
    expect(then.body.entries.map((e) => e.code)).toContain('110103');
    const now = await call<{ entries: { code: string }[] }>('/tables/GB2260?q=1101');
    expect(now.body.entries.map((e) => e.code)).not.toContain('110103');
    const history = await call<{ current: boolean; history: { label: string; validTo?: string; successors?: string[] }[] }>('/tables/GB2260/codes/110103');
    expect(history.body).toMatchObject({ current: false, history: [{ label: '崇文区', validTo: '2010-12-31', successors: ['110101'] }] });
    expect((await call('/tables/GB2260/codes/999999')).status).toBe(404);
    expect((await call('/tables/NOPE')).status).toBe(404);
  });

  it('diffs two dates and looks labels up', async () => {
    const d = await call<{ added: { code: string }[]; removed: { code: string }[] }>('/tables/GB2260/diff?from=2022-12-31&to=2023-12-31');
    expect(d.body.added.map((e) => e.code)).toEqual(['540481', '540581', '659012']);
    expect(d.body.removed.map((e) => e.code)).toEqual(['540422', '540530']);
    expect((await call('/tables/GB2260/diff?from=2022')).status).toBe(400);
    expect((await call<{ code: string }>(`/tables/GB4762/lookup?label=${encodeURIComponent('共青团员')}`)).body.code).toBe('03');
    expect((await call(`/tables/GB2260/lookup?label=${encodeURIComponent('朝阳区')}`)).status).toBe(404);
  });

  it('looks crosswalks up: the configured member crosswalk and the Ed-Fi seed', async () => {
    const local = await call<{ items: { mappedValue: string }[] }>(`/crosswalks/lookup?namespace=${encodeURIComponent('urn:member:3133010103:学籍状态')}&value=${encodeURIComponent('休学')}`);
    expect(local.body.items.map((i) => i.mappedValue)).toEqual(['suspended']);
    const edfi = await call<{ items: { mappedValue: string }[] }>(`/crosswalks/lookup?namespace=${encodeURIComponent('uri://ed-fi.org/TermDescriptor')}&value=${encodeURIComponent('Fall Semester')}`);
    expect(edfi.body.items.map((i) => i.mappedValue)).toEqual(['semester']);
  });

  it('loads a yearly addition only with codes:manage, reporting bad rows with their line', async () => {
    const content = readFileSync(join(samples, 'vocational-catalogue-additions-2023.SYNTHETIC.csv'), 'utf8');
    const refused = await call<{ code: string }>('/catalogue', { method: 'POST', payload: { name: 'additions-2023.csv', content } });
    expect(refused.status).toBe(403);
    const loaded = await call<{ loaded: number; problems: unknown[] }>('/catalogue', { key: admin, method: 'POST', payload: { name: 'additions-2023.csv', content } });
    expect(loaded.status).toBe(201);
    expect(loaded.body).toMatchObject({ loaded: 3, problems: [] });
    const d = await call<{ added: { code: string }[]; removed: { code: string }[] }>('/tables/VOC-MAJORS/diff?from=2022-12-31&to=2023-12-31');
    expect(d.body.added.map((e) => e.code)).toEqual(['510202']);
    expect(d.body.removed.map((e) => e.code)).toEqual(['460301']);
    const bad = await call<{ loaded: number; problems: { line: number; code: string }[] }>('/catalogue', { key: admin, method: 'POST', payload: { name: 'bad.csv', content: '专业代码,专业名称,目录版本\n12,越界,2024\n' } });
    expect(bad.status).toBe(422);
    expect(bad.body.problems).toEqual([expect.objectContaining({ line: 2, code: 'CATALOGUE_LEVEL_RANGE' })]);
    const audit = await hub.store.listAudit({ limit: 20 });
    expect(audit.map((e) => e.action)).toContain('codes.load');
  });
});
