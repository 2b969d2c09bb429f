// The issue's promise on the demo group: a person present in two members' data (a 中职 student who
// went on to the 高职 college, examples/demo/data/gaozhi-transfer) appears once as a golden record
// linking both, and can be unmerged.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../core/api/app.ts';
import { createHub, type Hub } from '../../core/hub.ts';
import { silentLogger } from '../../core/logger.ts';
import { createApiKey } from '../../core/security/api-keys.ts';
import { isIdentityInstance } from './index.ts';

const DEMO = resolve(import.meta.dirname, '../../examples/demo/vochub.yaml');
const ZHONGZHI = '3133010103';
const GAOZHI = '4133010102';

let dir: string;
let hub: Hub;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vochub-identity-demo-'));
  hub = await createHub({ configPath: DEMO, env: { ...process.env, VOCHUB_DATA: dir }, logger: silentLogger, background: false });
  for (const run of await hub.importPending()) expect(run.status, `${run.member}/${run.adapter}`).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('demo group identity', () => {
  it('links the 中职 student and the 高职 transfer record into one golden record, and unmerges them on request', async () => {
    const mounted = hub.plugins!.find((p) => isIdentityInstance(p.instance))!;
    if (!isIdentityInstance(mounted.instance)) throw new Error('identity plugin missing from the demo config');
    const summary = await mounted.instance.identity.matchAll({ id: 'test:operator' });
    expect(summary.multiMember).toBeGreaterThanOrEqual(2);

    const app = await buildApi(hub);
    try {
      const admin = { authorization: `Bearer ${(await createApiKey(hub.store, { name: 'demo admin', role: 'group-admin', member: null })).key}` };
      const crosswalk = async (member: string, key: string) =>
        (await app.inject({ method: 'GET', url: `/api/v1/identity/crosswalk?member=${member}&contract=student&key=${key}`, headers: admin })).json() as {
          goldenId: string; members: string[]; records: { member: string; key: string; method: string }[];
        };

      // Same ID number (the college wrote the phone as +86 137 4678 7186).
      const byId = await crosswalk(ZHONGZHI, '20216601000000');
      expect(byId.members).toEqual([ZHONGZHI, GAOZHI]);
      expect(byId.records.map((r) => r.key).sort()).toEqual(['20216601000000', '2024510101']);
      // No ID number at the college, day and month swapped: linked on name, birth date and phone.
      const probabilistic = await crosswalk(GAOZHI, '2024510102');
      expect(probabilistic.records.map((r) => `${r.member}/${r.key}`).sort()).toEqual([`${ZHONGZHI}/20217101000004`, `${GAOZHI}/2024510102`].sort());
      expect(probabilistic.records.find((r) => r.member === GAOZHI)!.method).toBe('probabilistic');

      const split = await app.inject({
        method: 'POST', url: '/api/v1/identity/unmerge', headers: admin,
        payload: { goldenId: byId.goldenId, records: [{ member: GAOZHI, contract: 'student', key: '2024510101' }] },
      });
      expect(split.statusCode).toBe(200);
      const after = await crosswalk(ZHONGZHI, '20216601000000');
      expect(after.goldenId).toBe(byId.goldenId);
      expect(after.members).toEqual([ZHONGZHI]);
      expect((await crosswalk(GAOZHI, '2024510101')).goldenId).toBe((split.json() as { newGoldenId: string }).newGoldenId);
    } finally {
      await app.close();
    }
  });

  it('`vochub identity match --json` re-matches and keeps the operator\'s unmerge', () => {
    const out = spawnSync(process.execPath, [resolve(import.meta.dirname, '../../bin/vochub.mjs'), 'identity', 'match', '--json'], {
      env: { ...process.env, VOCHUB_DATA: dir, VOCHUB_CONFIG: DEMO, VOCHUB_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000,
    });
    expect(out.status, out.stderr).toBe(0);
    const summary = JSON.parse(out.stdout) as { records: number; multiMember: number; links: { manual: number; probabilistic: number } };
    expect(summary.records).toBeGreaterThan(1000);
    // The unmerged transfer record stays apart; the probabilistic pair is still one person.
    expect(summary.multiMember).toBe(1);
    expect(summary.links.probabilistic).toBeGreaterThanOrEqual(1);
  }, 130_000);
});
