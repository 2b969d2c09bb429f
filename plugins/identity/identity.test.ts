// The plugin inside a real hub (SQLite store and bus, real adapters over fixture files, the HTTP API
// through fastify inject): golden records across members, C15 and C19 through the import pipeline,
// member scope, merge / unmerge with audit, the review queue, incremental matching from the bus, and
// no clear PII in the plugin's file.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../core/api/app.ts';
import { createHub, type Hub } from '../../core/hub.ts';
import { silentLogger } from '../../core/logger.ts';
import { createApiKey } from '../../core/security/api-keys.ts';
import type { Permission, Role } from '../../core/security/types.ts';
import { isIdentityInstance } from './index.ts';
import type { IdentityService } from './src/service.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const ONEROSTER_NO_MERGE = resolve(import.meta.dirname, '../../adapters/oneroster-csv/fixtures/c19-no-merge');
const SCHOOL = '4133010001';
const ENTERPRISE = '91330100MA2AAAAA1X';
const TRAINING = '4133010003';

const config = `
group: { code: IDTEST, name: 身份测试集团 }
members:
  - code: "${SCHOOL}"
    name: 甲职业学院
    type: college
    adapters:
      - name: multirole
        type: oneroster-csv
        config: { path: ${join(FIXTURES, 'c19-multirole')} }
      - name: nomerge
        type: oneroster-csv
        config: { path: ${ONEROSTER_NO_MERGE} }
  - code: "${ENTERPRISE}"
    name: 合作企业
    type: enterprise
    adapters:
      - name: hr
        type: roster-file
        config:
          files: ${join(FIXTURES, 'C15-id-15-digit.csv')}
          contract: staff
          key: 工号
          allow15: true
          columns: { 工号: staffNumber, 姓名: name, 身份证号: idNumber }
      - name: mentors
        type: roster-file
        config:
          files: ${join(FIXTURES, 'mentors.csv')}
          contract: staff
          key: 工号
          columns: { 工号: staffNumber, 姓名: name, 出生日期: birthDate }
  - code: "${TRAINING}"
    name: 培训中心
    type: school
    adapters:
      - name: training
        type: roster-file
        config:
          files: ${join(FIXTURES, 'training.csv')}
          contract: student
          key: 学号
          columns: { 学号: studentNumber, 姓名: name, 身份证号: { field: idNumber, optional: true }, 出生日期: birthDate, 联系电话: phone }
      - name: late
        type: roster-file
        config:
          files: ${join(FIXTURES, 'late.csv')}
          contract: student
          key: 学号
          allow15: true
          columns: { 学号: studentNumber, 姓名: name, 身份证号: idNumber, 出生日期: birthDate, 联系电话: phone }
plugins:
  - name: identity
    type: identity
`;

let dir: string;
let hub: Hub;
let app: FastifyInstance;
let identity: IdentityService;

async function key(role: Role, member: string | null, permissions?: Permission[]): Promise<{ authorization: string }> {
  const created = await createApiKey(hub.store, { name: `test ${role}`, role, member, permissions });
  return { authorization: `Bearer ${created.key}` };
}

async function get(path: string, headers: Record<string, string>) {
  const res = await app.inject({ method: 'GET', url: `/api/v1/identity${path}`, headers });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

async function post(path: string, headers: Record<string, string>, payload: unknown) {
  const res = await app.inject({ method: 'POST', url: `/api/v1/identity${path}`, headers, payload: payload as Record<string, unknown> });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vochub-identity-'));
  writeFileSync(join(dir, 'vochub.yaml'), config);
  hub = await createHub({
    configPath: join(dir, 'vochub.yaml'),
    env: { VOCHUB_DATA: join(dir, 'var'), VOCHUB_MASTER_KEY: randomBytes(32).toString('base64') },
    logger: silentLogger,
  });
  const mounted = hub.plugins!.find((p) => isIdentityInstance(p.instance))!;
  if (!isIdentityInstance(mounted.instance)) throw new Error('identity plugin not loaded');
  identity = mounted.instance.identity;
  await mounted.instance.follow();
  for (const [member, adapter] of [[SCHOOL, 'multirole'], [SCHOOL, 'nomerge'], [ENTERPRISE, 'hr'], [ENTERPRISE, 'mentors'], [TRAINING, 'training']] as const) {
    const run = await hub.imports.run(member, adapter);
    expect(run.status, `${member}/${adapter}`).toBe('succeeded');
  }
  // Let the bus catch-up (first contact: one full match) settle, then match explicitly as an operator would.
  await hub.relay!.flush();
  for (const topic of ['edu.person', 'edu.student', 'edu.staff']) await hub.bus.idle(topic, 'identity', 20_000);
  await identity.matchAll({ id: 'test:operator' });
  app = await buildApi(hub);
  await app.ready();
}, 60_000);

let closed = false;
afterAll(async () => {
  if (!closed) {
    await app?.close();
    await hub?.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('golden records across members', () => {
  it('C15: the 15-digit E0001 and the 18-digit E0004 of the enterprise and the training centre\'s T001 are one person', async () => {
    const admin = await key('group-admin', null);
    const { status, body } = await get(`/crosswalk?member=${ENTERPRISE}&contract=staff&key=E0001`, admin);
    expect(status).toBe(200);
    expect(body.members).toEqual([TRAINING, ENTERPRISE].sort());
    const keys = body.records.map((r: { key: string }) => r.key).sort();
    expect(keys).toEqual(['E0001', 'E0004', 'T001']);
    // E0002 (month 13) and E0003 (all zeros) were refused by the pipeline and never reach matching.
    expect(identity.db.link({ member: ENTERPRISE, contract: 'staff', key: 'E0002' })).toBeUndefined();
    // Masked PII only; the golden ID number is the upgraded 18-digit form.
    expect(body.golden.idNumber).toMatch(/^110101\*{8}1235$/);
    expect(JSON.stringify(body)).not.toContain('110101196805121235');
    expect(body.records.find((r: { key: string }) => r.key === 'E0001').method).toBe('id');
  });

  it('C19: the multi-role teacher is one record with aliases and one person; the crosswalk resolves any alias', async () => {
    const admin = await key('group-admin', null);
    const byTeacher = await get(`/crosswalk?member=${SCHOOL}&contract=staff&key=tch-T2015003`, admin);
    const stored = await hub.store.getRecord(SCHOOL, byTeacher.body.records[0].contract, 'adm-T2015003');
    expect(stored).toBeDefined();
    const byAlias = await get(`/crosswalk?member=${SCHOOL}&contract=${byTeacher.body.records[0].contract}&key=adm-T2015003`, admin);
    expect(byAlias.status).toBe(200);
    expect(byAlias.body.goldenId).toBe(byTeacher.body.goldenId);
    expect(byTeacher.body.records).toHaveLength(1);
  });

  it('C19: no merge when the username or identifier differ', async () => {
    const links = identity.db.allLinks().filter((l) => l.member === SCHOOL);
    const golden = (key: string) => links.find((l) => l.key === key)!.goldenId;
    expect(golden('tch-T2016001')).not.toBe(golden('stu-T2016001'));
    expect(golden('tch-T2016002')).toBeDefined();
  });
});

describe('member scope', () => {
  it('a member key sees the golden record through its own record, other members\' records as {member, contract} only', async () => {
    const own = await key('member-admin', TRAINING);
    const { status, body } = await get(`/crosswalk?member=${TRAINING}&contract=student&key=T001`, own);
    expect(status).toBe(200);
    const hidden = body.records.filter((r: { hidden?: boolean }) => r.hidden);
    expect(hidden).toHaveLength(2);
    for (const r of hidden) expect(Object.keys(r).sort()).toEqual(['contract', 'hidden', 'member']);
    const mine = body.records.find((r: { key?: string }) => r.key === 'T001');
    expect(mine.data.name).toBe('李**');
    // Fields whose surviving value comes from another member are withheld, not shown.
    for (const field of body.withheld) expect(body.golden[field]).toBeUndefined();
  });

  it('refuses another member\'s record (403), hides golden records without own records (404), needs identity:read', async () => {
    const own = await key('member-admin', TRAINING);
    expect((await get(`/crosswalk?member=${ENTERPRISE}&contract=staff&key=E0001`, own)).status).toBe(403);
    const schoolGolden = identity.db.link({ member: SCHOOL, contract: 'staff', key: 'tch-T2016001' })?.goldenId
      ?? identity.db.allLinks().find((l) => l.member === SCHOOL)!.goldenId;
    const hiddenPerson = await get(`/persons/${schoolGolden}`, own);
    expect(hiddenPerson.status).toBe(404);
    const reader = await key('reader', TRAINING);
    expect((await get(`/crosswalk?member=${TRAINING}&contract=student&key=T001`, reader)).status).toBe(403);
  });
});

describe('review queue, merge and unmerge', () => {
  it('queues the same name with swapped day/month and no phone; reject keeps the pair apart in later matches', async () => {
    const admin = await key('group-admin', null);
    const open = await get('/review?status=open', admin);
    const item = open.body.items.find((i: { a: { key?: string }; b: { key?: string } }) => [i.a.key, i.b.key].sort().join() === 'S001,T002');
    expect(item).toBeDefined();
    expect(item.levels).toMatchObject({ name: 'exact', birthDate: 'swapped' });
    const member = await key('member-admin', TRAINING, ['identity:manage']);
    // A member key may not decide a pair that involves another member's record.
    expect((await post(`/review/${item.id}`, member, { decision: 'reject' })).status).toBe(403);
    const decided = await post(`/review/${item.id}`, admin, { decision: 'reject' });
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('rejected');
    await identity.matchAll({ id: 'test:operator' });
    const again = await get('/review?status=open', admin);
    expect(again.body.items.some((i: { a: { key?: string }; b: { key?: string } }) => [i.a.key, i.b.key].sort().join() === 'S001,T002')).toBe(false);
  });

  it('merges two golden records and unmerges them again, both audited, and a full match keeps the decisions', async () => {
    const admin = await key('group-admin', null);
    const a = identity.db.link({ member: TRAINING, contract: 'student', key: 'T002' })!.goldenId;
    const b = identity.db.link({ member: ENTERPRISE, contract: 'staff', key: 'S001' })!.goldenId;
    expect(a).not.toBe(b);
    const merged = await post('/merge', admin, { goldenIds: [a, b] });
    expect(merged.status).toBe(200);
    expect(merged.body).toEqual({ goldenId: a, records: 2 });
    const gone = await get(`/persons/${b}`, admin);
    expect(gone.body).toMatchObject({ status: 'retired', mergedInto: a });
    await identity.matchAll({ id: 'test:operator' });
    expect(identity.db.link({ member: ENTERPRISE, contract: 'staff', key: 'S001' })!.goldenId).toBe(a);

    const split = await post('/unmerge', admin, { goldenId: a, records: [{ member: ENTERPRISE, contract: 'staff', key: 'S001' }] });
    expect(split.status).toBe(200);
    const person = await get(`/persons/${a}`, admin);
    expect(person.body.records.map((r: { key: string }) => r.key)).toEqual(['T002']);
    await identity.matchAll({ id: 'test:operator' });
    expect(identity.db.link({ member: ENTERPRISE, contract: 'staff', key: 'S001' })!.goldenId).toBe(split.body.newGoldenId);

    const actions = (await hub.store.listAudit({ limit: 1000 })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['identity.merge', 'identity.unmerge', 'identity.review', 'identity.match', 'identity.read']));
    expect(await hub.store.verifyAudit()).toBeNull();
  });

  it('unmerge refuses records that are not linked to the golden record', async () => {
    const admin = await key('group-admin', null);
    const a = identity.db.link({ member: ENTERPRISE, contract: 'staff', key: 'E0001' })!.goldenId;
    const res = await post('/unmerge', admin, { goldenId: a, records: [{ member: SCHOOL, contract: 'staff', key: 'nope' }] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('IDENTITY_RECORD_NOT_LINKED');
  });
});

describe('incremental matching from the bus', () => {
  it('a record imported later joins its person through the change event (consumer group identity)', async () => {
    const before = identity.db.link({ member: ENTERPRISE, contract: 'staff', key: 'E0001' })!.goldenId;
    const run = await hub.imports.run(TRAINING, 'late');
    expect(run.status).toBe('succeeded');
    await hub.relay!.flush();
    await hub.bus.idle('edu.student', 'identity', 20_000);
    const link = identity.db.link({ member: TRAINING, contract: 'student', key: 'L001' });
    expect(link).toMatchObject({ goldenId: before, method: 'id' });
  });

  it('keeps no clear PII in identity.db: only keyed hashes, references and scores', async () => {
    await app.close();
    await hub.close();
    closed = true;
    const folder = join(dir, 'var', 'plugins', '_hub', 'identity');
    for (const file of readdirSync(folder)) {
      const bytes = readFileSync(join(folder, file));
      for (const clear of ['110101196805121235', '110101680512123', '13812345678', '李师傅', '1968-05-12', '周小平']) {
        expect(bytes.includes(Buffer.from(clear)), `${file} holds ${clear}`).toBe(false);
      }
    }
  });
});
