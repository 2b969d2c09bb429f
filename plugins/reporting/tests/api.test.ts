// /api/v1/reports behind the hub's real authentication: member scope, reports:approve for approval,
// downloads for reporters (audited as PII reads), nothing for readers.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../core/security/api-keys.ts';
import type { Role } from '../../../core/security/types.ts';
import { openTestHub, readWorkbook, ZHONGZHI, type TestHub } from './helpers.ts';

const OTHER = '4133010102';

describe('reports API', () => {
  let t: TestHub;
  let app: FastifyInstance;
  const keys: Record<string, string> = {};
  const as = (who: string) => ({ authorization: `Bearer ${keys[who]}` });

  beforeAll(async () => {
    t = await openTestHub({ members: [ZHONGZHI, OTHER] });
    app = (await t.hub.listen()).app;
    const make = async (name: string, role: Role, member: string | null) => {
      keys[name] = (await createApiKey(t.hub.store, { name, role, member })).key;
    };
    await make('reporter', 'reporter', ZHONGZHI);
    await make('admin', 'member-admin', ZHONGZHI);
    await make('reader', 'reader', ZHONGZHI);
    await make('otherReporter', 'reporter', OTHER);
    await make('group', 'group-admin', null);
  }, 60_000);
  afterAll(async () => t?.close());

  let runId: string;

  it('lets a member reporter generate for its own member and refuses a reader', async () => {
    const refused = await app.inject({ method: 'POST', url: '/api/v1/reports/runs', headers: as('reader'), payload: { definition: 'xueji-zhongzhi', year: '2024-2025' } });
    expect(refused.statusCode).toBe(403);
    const created = await app.inject({ method: 'POST', url: '/api/v1/reports/runs', headers: as('reporter'), payload: { definition: 'xueji-zhongzhi', year: '2024-2025' } });
    expect(created.statusCode).toBe(201);
    const run = created.json<{ id: string; member: string; status: string }>();
    expect(run).toMatchObject({ member: ZHONGZHI, status: 'awaiting-approval' });
    runId = run.id;
    const elsewhere = await app.inject({ method: 'POST', url: '/api/v1/reports/runs', headers: as('reporter'), payload: { definition: 'xueji-zhongzhi', year: '2024-2025', member: OTHER } });
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json()).toMatchObject({ code: 'MEMBER_SCOPE' });
  });

  it('keeps runs inside their member', async () => {
    const other = await app.inject({ method: 'GET', url: `/api/v1/reports/runs/${runId}`, headers: as('otherReporter') });
    expect(other.statusCode).toBe(403);
    const list = await app.inject({ method: 'GET', url: '/api/v1/reports/runs', headers: as('otherReporter') });
    expect(list.json<{ items: unknown[] }>().items).toEqual([]);
    const group = await app.inject({ method: 'GET', url: '/api/v1/reports/runs', headers: as('group') });
    expect(group.json<{ items: { id: string }[] }>().items.map((r) => r.id)).toContain(runId);
  });

  it('requires reports:approve to approve, and approval before submission', async () => {
    const early = await app.inject({ method: 'POST', url: `/api/v1/reports/runs/${runId}/submit`, headers: as('reporter') });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'REPORT_NOT_APPROVED' });
    const byAdmin = await app.inject({ method: 'POST', url: `/api/v1/reports/runs/${runId}/approve`, headers: as('admin') });
    expect(byAdmin.statusCode).toBe(403);
    const approved = await app.inject({ method: 'POST', url: `/api/v1/reports/runs/${runId}/approve`, headers: as('reporter') });
    expect(approved.statusCode).toBe(200);
    const submitted = await app.inject({ method: 'POST', url: `/api/v1/reports/runs/${runId}/submit`, headers: as('reporter') });
    expect(submitted.json()).toMatchObject({ status: 'delivered', receipt: { channel: 'download' } });
    const status = await app.inject({ method: 'GET', url: `/api/v1/reports/runs/${runId}`, headers: as('reporter') });
    expect(status.json()).toMatchObject({ status: 'delivered', approvedBy: expect.stringMatching(/^key:/) });
  });

  it('serves generated files to reporters and PII readers only, auditing each download', async () => {
    const run = (await app.inject({ method: 'GET', url: `/api/v1/reports/runs/${runId}`, headers: as('reporter') })).json<{ files: { name: string }[] }>();
    const url = `/api/v1/reports/runs/${runId}/files/${encodeURIComponent(run.files[0]!.name)}`;
    const file = await app.inject({ method: 'GET', url, headers: as('reporter') });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toContain('spreadsheetml');
    expect(file.headers['cache-control']).toBe('no-store');
    const workbook = await readWorkbook(file.rawPayload);
    expect(workbook.worksheets[0]!.getRow(1).getCell(1).value).toBe('姓名');
    expect((await app.inject({ method: 'GET', url, headers: as('admin') })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url, headers: as('reader') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url, headers: as('otherReporter') })).statusCode).toBe(403);
    const reads = (await t.hub.store.listAudit({ member: ZHONGZHI, limit: 500 })).filter((e) => e.action === 'pii.read' && e.target === `report-run:${runId}`);
    expect(reads).toHaveLength(2);
  });

  it('answers diff and validate for the run', async () => {
    const diff = await app.inject({ method: 'GET', url: `/api/v1/reports/runs/${runId}/diff`, headers: as('reporter') });
    expect(diff.json()).toMatchObject({ run: runId });
    const validate = await app.inject({ method: 'POST', url: `/api/v1/reports/runs/${runId}/validate`, headers: as('reporter') });
    expect(validate.json()).toMatchObject({ intact: true, stale: false });
  });
});
