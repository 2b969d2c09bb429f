import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../../core/bus/index.ts';
import type { Subscription } from '../../../core/bus/types.ts';
import { MEMBER_A, MEMBER_B, bearer, startHub } from './harness.ts';
import type { TestHub } from './harness.ts';

let t: TestHub;
let subscription: Subscription;
const TOPIC = 'vochub.ingest';
const GROUP = 'store';

beforeAll(async () => {
  t = await startHub();
  // Two inbound events that the consumer refuses: one dead letter per member, through the real memory bus.
  subscription = await t.hub.bus.subscribe(TOPIC, GROUP, (batch) => {
    for (const d of batch) d.term({ code: 'CONTRACT_INVALID', message: '身份证号校验位错误 / ID number check digit is wrong', stage: 'validate', adapter: 'push' });
  });
  await t.hub.bus.publish(TOPIC, [MEMBER_A, MEMBER_B].map((member, i) => makeEvent({
    source: `/members/${member}/adapters/push`, type: 'vochub.ingest.record.v1', member, partitionkey: `${member}/student/P${i}`,
    dataschema: 'urn:vochub:contract:student:1',
    data: { id: `P${i}`, name: '赵小明', idNumber: '110101200509011250', studentNumber: `P${i}` },
  })));
  await t.hub.bus.idle(TOPIC, GROUP, 10_000);
});
afterAll(async () => {
  await subscription.close();
  await t.close();
});

async function openDeadLetter(member: string) {
  const page = await t.hub.bus.dlq.list({ member, status: 'open' });
  return page.items[0]!;
}

describe('import runs and problems', () => {
  it('runs an import for the own member and answers with the finished run', async () => {
    const key = await t.key('member-admin', MEMBER_A);
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/members/${MEMBER_A}/adapters/roster/import`, headers: bearer(key), payload: { mode: 'delta' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ member: MEMBER_A, adapter: 'roster', status: 'succeeded', mode: 'delta' });
    expect(t.calls.runs.at(-1)).toEqual({ member: MEMBER_A, adapter: 'roster', mode: 'delta' });
    const audit = await t.store.listAudit({ member: MEMBER_A, limit: 1000 });
    expect(audit.some((e) => e.action === 'imports.run' && e.target === 'adapter:roster')).toBe(true);
  });

  it('refuses imports for another member, unknown adapters and roles without imports:run', async () => {
    const admin = await t.key('member-admin', MEMBER_A);
    const other = await t.app.inject({ method: 'POST', url: `/api/v1/members/${MEMBER_B}/adapters/roster/import`, headers: bearer(admin) });
    expect(other.json().code).toBe('MEMBER_SCOPE');
    const unknown = await t.app.inject({ method: 'POST', url: `/api/v1/members/${MEMBER_A}/adapters/ghost/import`, headers: bearer(admin) });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'ADAPTER_UNKNOWN']);
    const reader = await t.app.inject({ method: 'POST', url: `/api/v1/members/${MEMBER_A}/adapters/roster/import`, headers: bearer(await t.key('reader', MEMBER_A)) });
    expect(reader.json().code).toBe('FORBIDDEN');
    const runs = t.calls.runs.length;
    expect(runs).toBe(t.calls.runs.filter((r) => r.member === MEMBER_A && r.adapter === 'roster').length);
  });

  it('hides another member\'s run behind 404 and lists only own runs', async () => {
    const key = await t.key('reader', MEMBER_B);
    const res = await t.app.inject({ url: `/api/v1/import-runs/${t.seededRuns[MEMBER_A]}`, headers: bearer(key) });
    expect([res.statusCode, res.json().code]).toEqual([404, 'NOT_FOUND']);
    const list = await t.app.inject({ url: '/api/v1/import-runs', headers: bearer(key) });
    expect(list.json().items.map((r: { member: string }) => r.member)).toEqual([MEMBER_B]);
  });

  it('masks a PII problem value (stored encrypted) and shows a non-PII value', async () => {
    const key = await t.key('reader', MEMBER_A);
    const res = await t.app.inject({ url: `/api/v1/import-runs/${t.seededRuns[MEMBER_A]}/problems`, headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    const byCode = Object.fromEntries(res.json().items.map((p: { code: string }) => [p.code, p]));
    expect(byCode.ID_CHECK_DIGIT).toMatchObject({ value: '110101********1250', field: 'idNumber', line: 5, column: '身份证号' });
    expect(byCode.CONTRACT_ENUM).toMatchObject({ value: '本科', field: 'educationLevel' });
    expect(res.body).not.toContain('110101200509011250');
  });

  it('shows a problem\'s original record masked, and in clear to pii:read with an audit entry', async () => {
    const list = await t.app.inject({ url: `/api/v1/problems?member=${MEMBER_A}&code=ID_CHECK_DIGIT`, headers: bearer(await t.key('group-admin', null)) });
    const id = list.json().items[0].id as string;
    const masked = await t.app.inject({ url: `/api/v1/problems/${id}`, headers: bearer(await t.key('reader', MEMBER_A)) });
    expect(masked.json().original.data).toMatchObject({ name: '何**', idNumber: '110101********1250', studentNumber: '2023050104' });
    const admin = await t.key('member-admin', MEMBER_A);
    const clear = await t.app.inject({ url: `/api/v1/problems/${id}?reveal=true`, headers: bearer(admin) });
    expect(clear.json().original.data.idNumber).toBe('110101200509011250');
    expect(clear.json().value).toBe('110101200509011250');
    const audit = await t.store.listAudit({ member: MEMBER_A, limit: 1000 });
    expect(audit.some((e) => e.action === 'pii.read' && e.target === `problem:${id}`)).toBe(true);
  });

  it('replays a problem with a fixed record for problems:manage only, within the member', async () => {
    const list = await t.app.inject({ url: `/api/v1/problems?member=${MEMBER_A}&code=ID_CHECK_DIGIT`, headers: bearer(await t.key('group-admin', null)) });
    const id = list.json().items[0].id as string;
    const fixed = { id: '2023050104', name: '何小伟', idNumber: '11010120050901125X' };
    const denied = await t.app.inject({ method: 'POST', url: `/api/v1/problems/${id}/replay`, headers: bearer(await t.key('member-admin', MEMBER_B)), payload: { record: fixed } });
    expect([denied.statusCode, denied.json().code]).toEqual([404, 'NOT_FOUND']);
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/problems/${id}/replay`, headers: bearer(await t.key('member-admin', MEMBER_A)), payload: { record: fixed } });
    expect(res.statusCode).toBe(202);
    expect(t.calls.replays).toEqual([{ id, fixed }]);
    expect((await t.store.getProblem(id))?.status).toBe('replayed');
  });
});

describe('dead letters', () => {
  it('lists only the own member\'s dead letters with PII masked', async () => {
    const res = await t.app.inject({ url: '/api/v1/dlq', headers: bearer(await t.key('member-admin', MEMBER_A)) });
    expect(res.statusCode).toBe(200);
    const items = res.json().items;
    expect(items.map((e: { event: { member: string } }) => e.event.member)).toEqual([MEMBER_A]);
    expect(items[0]).toMatchObject({ masked: true, reason: { code: 'CONTRACT_INVALID' }, event: { data: { idNumber: '110101********1250', name: '赵**' } } });
    expect(res.body).not.toContain('110101200509011250');
  });

  it('hides another member\'s dead letter and refuses readers', async () => {
    const b = await openDeadLetter(MEMBER_B);
    const res = await t.app.inject({ url: `/api/v1/dlq/${encodeURIComponent(b.id)}`, headers: bearer(await t.key('member-admin', MEMBER_A)) });
    expect([res.statusCode, res.json().code]).toEqual([404, 'NOT_FOUND']);
    const reader = await t.app.inject({ url: '/api/v1/dlq', headers: bearer(await t.key('reader', MEMBER_A)) });
    expect(reader.json().code).toBe('FORBIDDEN');
  });

  it('replays with fixed data once, then refuses with DLQ_ENTRY_CLOSED', async () => {
    const a = await openDeadLetter(MEMBER_A);
    const key = await t.key('member-admin', MEMBER_A);
    const url = `/api/v1/dlq/${encodeURIComponent(a.id)}/replay`;
    const res = await t.app.inject({ method: 'POST', url, headers: bearer(key), payload: { data: { ...(a.event.data as object), idNumber: '11010120050901125X' } } });
    expect(res.statusCode).toBe(202);
    expect((await t.hub.bus.dlq.get(a.id))?.status).not.toBe('open');
    const again = await t.app.inject({ method: 'POST', url, headers: bearer(key) });
    expect([again.statusCode, again.json().code]).toEqual([409, 'DLQ_ENTRY_CLOSED']);
  });

  it('discards for a group admin and audits it', async () => {
    const b = await openDeadLetter(MEMBER_B);
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/dlq/${encodeURIComponent(b.id)}/discard`, headers: bearer(await t.key('group-admin', null)) });
    expect(res.json()).toEqual({ id: b.id, status: 'discarded' });
    expect((await t.hub.bus.dlq.get(b.id))?.status).toBe('discarded');
    const audit = await t.store.listAudit({ member: MEMBER_B, limit: 1000 });
    expect(audit.some((e) => e.action === 'dlq.discard' && e.target === `dlq:${b.id}`)).toBe(true);
  });
});

describe('keys, members and audit', () => {
  it('lets a member-admin create keys only for its own member and never group roles', async () => {
    const admin = await t.key('member-admin', MEMBER_A);
    const own = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(admin), payload: { name: '教务只读', role: 'reader' } });
    expect(own.statusCode).toBe(201);
    expect(own.json()).toMatchObject({ role: 'reader', member: MEMBER_A, key: expect.stringMatching(/^vh_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/) });
    expect(own.json()).not.toHaveProperty('secretHash');
    const other = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(admin), payload: { name: 'x', role: 'reader', member: MEMBER_B } });
    expect(other.json().code).toBe('MEMBER_SCOPE');
    const group = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(admin), payload: { name: 'x', role: 'group-admin' } });
    expect(group.json().code).toBe('FORBIDDEN');
    const listed = await t.app.inject({ url: '/api/v1/keys', headers: bearer(admin) });
    expect(listed.json().items.every((k: { member: string | null; secretHash?: string }) => k.member === MEMBER_A && k.secretHash === undefined)).toBe(true);
  });

  it('lists members with adapter names only for the own member', async () => {
    const res = await t.app.inject({ url: '/api/v1/members', headers: bearer(await t.key('reader', MEMBER_A)) });
    const items = res.json().items as { code: string; adapters?: { name: string; config?: unknown }[] }[];
    expect(items.map((m) => m.code)).toEqual([MEMBER_A, MEMBER_B]);
    expect(items[0]!.adapters).toEqual([{ name: 'roster', type: 'roster-file' }]);
    expect(items[1]!.adapters).toBeUndefined();
  });

  it('shows the audit log to the auditor with an intact chain', async () => {
    const key = await t.key('auditor', null);
    const res = await t.app.inject({ url: '/api/v1/audit?limit=1000', headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.length).toBeGreaterThan(0);
    expect((await t.app.inject({ url: '/api/v1/audit/verify', headers: bearer(key) })).json()).toEqual({ intact: true, brokenAt: null });
  });

  it('serves a contract with its schema', async () => {
    const res = await t.app.inject({ url: '/api/v1/contracts/student', headers: bearer(await t.key('reader', MEMBER_A)) });
    expect(res.json()).toMatchObject({ name: 'student', $id: 'urn:vochub:contract:student:1', schema: { $id: 'urn:vochub:contract:student:1' } });
    expect(res.json().pii).toContainEqual({ field: 'idNumber', class: 'id-number' });
  });
});
