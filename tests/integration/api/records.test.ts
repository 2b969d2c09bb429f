import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_A, MEMBER_B, bearer, readStudents, startHub } from './harness.ts';
import type { TestHub } from './harness.ts';

let t: TestHub;
beforeAll(async () => { t = await startHub(); });
afterAll(async () => { await t.close(); });

const ids = () => Object.values(readStudents().members).flat().map((r) => String(r.idNumber));

describe('member scope on records', () => {
  it('gives a member key only its own member by default', async () => {
    const res = await t.app.inject({ url: '/api/v1/records/student', headers: bearer(await t.key('reader', MEMBER_A)) });
    expect(res.statusCode).toBe(200);
    const members = new Set(res.json().items.map((i: { member: string }) => i.member));
    expect([...members]).toEqual([MEMBER_A]);
    expect(res.json().items).toHaveLength(readStudents().members[MEMBER_A]!.length);
  });

  it('refuses member A asking for member B records with 403 MEMBER_SCOPE', async () => {
    const key = await t.key('member-admin', MEMBER_A);
    for (const url of [`/api/v1/records/student?member=${MEMBER_B}`, `/api/v1/records/student/${MEMBER_B}/2023050103`]) {
      const res = await t.app.inject({ url, headers: bearer(key) });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'MEMBER_SCOPE', status: 403 });
      expect(res.body).not.toContain('林小芳');
    }
  });

  it('lets a group role read across members and audits each member read', async () => {
    const key = await t.key('auditor', null);
    const before = (await t.store.listAudit({ limit: 1000 })).length;
    const res = await t.app.inject({ url: '/api/v1/records/student?limit=1000', headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    expect(new Set(res.json().items.map((i: { member: string }) => i.member))).toEqual(new Set([MEMBER_A, MEMBER_B]));
    const entries = (await t.store.listAudit({ limit: 1000 })).slice(before);
    expect(entries.map((e) => [e.action, e.member]).sort()).toEqual([
      ['records.cross-member-read', MEMBER_A], ['records.cross-member-read', MEMBER_B],
    ]);
  });

  it('pages with the store cursor', async () => {
    const key = await t.key('group-admin', null);
    const first = await t.app.inject({ url: '/api/v1/records/student?limit=2', headers: bearer(key) });
    expect(first.json().items).toHaveLength(2);
    expect(first.json().next).toEqual(expect.any(String));
    const second = await t.app.inject({ url: `/api/v1/records/student?limit=2&after=${encodeURIComponent(first.json().next)}`, headers: bearer(key) });
    const keys = [...first.json().items, ...second.json().items].map((i: { key: string }) => i.key);
    expect(new Set(keys).size).toBe(3);
  });

  it('answers 404 CONTRACT_UNKNOWN for an unknown contract', async () => {
    const res = await t.app.inject({ url: '/api/v1/records/spaceship', headers: bearer(await t.key('group-admin', null)) });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('CONTRACT_UNKNOWN');
  });
});

describe('PII in responses', () => {
  it('masks ID numbers, names and phones for a reader', async () => {
    const res = await t.app.inject({ url: `/api/v1/records/student/${MEMBER_A}/2023050101`, headers: bearer(await t.key('reader', MEMBER_A)) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.masked).toBe(true);
    expect(body.data).toMatchObject({ idNumber: '110101********109X', name: '冯**', phone: '138****5678', birthDate: '2005-**-**', studentNumber: '2023050101' });
    expect(res.body).not.toContain('11010120050901109X');
  });

  it('refuses reveal=true without pii:read', async () => {
    const res = await t.app.inject({ url: `/api/v1/records/student?reveal=true`, headers: bearer(await t.key('reader', MEMBER_A)) });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
  });

  it('reveals PII to pii:read on request and writes an audit entry naming the records, not the values', async () => {
    const key = await t.key('reader', MEMBER_A, ['pii:read']);
    const masked = await t.app.inject({ url: '/api/v1/records/student', headers: bearer(key) });
    expect(masked.body).not.toContain('11010120050901109X');
    const before = (await t.store.listAudit({ limit: 1000 })).length;
    const res = await t.app.inject({ url: '/api/v1/records/student?reveal=true', headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.find((i: { key: string }) => i.key === '2023050101').data.idNumber).toBe('11010120050901109X');
    const entries = (await t.store.listAudit({ limit: 1000 })).slice(before);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'pii.read', member: MEMBER_A, target: 'student' });
    expect(entries[0]!.detail).toMatchObject({ crossMember: false, fields: expect.arrayContaining(['idNumber', 'name']) });
    expect((entries[0]!.detail as { keys: string[] }).keys.sort()).toEqual(['2023050101', '2023050102']);
    expect(JSON.stringify(entries[0])).not.toContain('11010120050901109X');
    expect(await t.store.verifyAudit()).toBeNull();
  });

  it('never writes an ID number in clear to the SQLite file', async () => {
    // Checkpoint the WAL so the main file holds everything, then read raw bytes and every text cell.
    await t.store.transaction(() => undefined);
    const raw = readFileSync(t.dbFile);
    const wal = (() => { try { return readFileSync(t.dbFile + '-wal'); } catch { return Buffer.alloc(0); } })();
    const db = new Database(t.dbFile, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    const cells: string[] = [];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
        for (const v of Object.values(row)) if (typeof v === 'string') cells.push(v);
      }
    }
    db.close();
    // The scan does see stored data: the non-PII student number is there in clear.
    expect(cells.some((c) => c.includes('2023050101'))).toBe(true);
    for (const id of [...ids(), '110101200509011250']) {
      expect(raw.includes(Buffer.from(id)), id).toBe(false);
      expect(wal.includes(Buffer.from(id)), id).toBe(false);
      expect(cells.some((c) => c.includes(id)), id).toBe(false);
    }
    for (const name of ['冯小雨', '林小芳', '13812345678']) expect(cells.some((c) => c.includes(name)), name).toBe(false);
  });
});
