// Issue 6, "done means": the demo's quality report shows scores per member with drill-down to problem
// rows. The demo group as shipped (examples/demo/vochub.yaml), imported into a fresh data folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildApi } from '../../../core/api/index.ts';
import { repoRoot } from '../../../core/config/load.ts';
import { createHub } from '../../../core/hub.ts';
import { silentLogger } from '../../../core/logger.ts';
import { createApiKey } from '../../../core/security/api-keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'vochub-demo-quality-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the demo quality report scores each member school and drills down to its problem rows', async () => {
  const hub = await createHub({ configPath: resolve(repoRoot, 'examples/demo/vochub.yaml'), env: { ...process.env, VOCHUB_DATA: dir }, logger: silentLogger, background: false });
  try {
    await hub.importPending();
    const app = await buildApi(hub);
    const key = (await createApiKey(hub.store, { name: 'auditor', role: 'auditor', member: null })).key;
    const headers = { authorization: `Bearer ${key}` };
    const report = (await app.inject({ url: '/api/v1/quality/report', headers })).json() as { members: { member: string; score: number; records: number; quarantined: number; contracts: { contract: string }[] }[] };
    expect(report.members.map((m) => m.member).sort()).toEqual(hub.config.members.map((m) => m.code).sort());
    for (const m of report.members) {
      expect(m.records).toBeGreaterThan(0);
      expect(m.score).toBeGreaterThan(0);
      expect(m.score).toBeLessThanOrEqual(100);
    }
    const roster = report.members.find((m) => m.member === '3133010103')!;
    expect(roster.quarantined).toBe(3);
    const issues = (await app.inject({ url: '/api/v1/quality/issues?member=3133010103&dimension=validity', headers })).json() as { items: { rule: string; location: { file?: string; line?: number; column?: string } }[] };
    expect(issues.items.map((i) => [i.rule, i.location.line, i.location.column])).toEqual([
      ['quarantine:ID_EXCEL_SCIENTIFIC', 34, '身份证号'],
      ['quarantine:ID_CHECK_DIGIT', 96, '身份证号'],
      ['quarantine:DATE_INVALID', 232, '出生日期'],
    ]);
    await app.close();
  } finally {
    await hub.close();
  }
}, 120_000);
