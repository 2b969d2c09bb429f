// The README's promise, end to end with real processes: `vochub start` on a fresh data folder serves
// /readyz, imports the demo group to exactly the counts of the source files, keeps member scope and
// PII masking over HTTP, and a SIGKILL in the middle of an import loses and duplicates nothing.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { repoRoot } from '../../../core/config/load.ts';

const bin = resolve(repoRoot, 'bin/vochub.mjs');
const demo = resolve(repoRoot, 'examples/demo');
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vochub-demo-'));
  dirs.push(dir);
  return dir;
}

function vochub(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Stats {
  members: { code: string; records: Record<string, number>; problems: Record<string, number> }[];
}

function stats(env: NodeJS.ProcessEnv): Stats {
  const out = vochub(['stats', '--json'], env);
  expect(out.status, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as Stats;
}

/** Counts computed from the source files themselves, not from the adapters. */
function expectedFromSources() {
  const count = (file: string, tag: string): number => (readFileSync(join(demo, 'data', file), 'utf8').match(new RegExp(`<${tag}[\\s>]`, 'g')) ?? []).length;
  const damage = JSON.parse(readFileSync(join(demo, 'data/zhongzhi-roster/roster.csv.damage.json'), 'utf8')) as { line: number; code: string | null; severity: string | null }[];
  const rosterRows = readFileSync(join(demo, 'data/zhongzhi-roster/roster.csv')).toString('latin1').split('\r\n').slice(1).filter((l) => l.replace(/,/g, '').trim() !== '').length;
  const rejected = damage.filter((d) => d.severity === 'error').length;
  const lines = (file: string): number => readFileSync(join(demo, 'data', file), 'utf8').split(/\r?\n/).slice(1).filter((l) => l !== '').length;
  return {
    edfiStudents: count('edfi-grand-bend/Student.xml', 'Student'),
    edfiStaff: count('edfi-grand-bend/StaffAssociation.xml', 'Staff'),
    edfiSections: count('edfi-grand-bend/MasterSchedule.xml', 'Section'),
    rosterStudents: rosterRows - rejected,
    rosterProblems: damage.filter((d) => d.code !== null).map((d) => d.code!).sort(),
    // Synthetic school–enterprise data (scripts/generate-demo-partners.ts): one record per data line.
    staff: lines('zhongzhi-staff/staff.csv'),
    internships: lines('enterprise-internships/internships.csv'),
  };
}

// Each test spawns several real `vochub` processes: slow on a loaded 2-core machine, not a timing claim.
describe('demo group, as a new user runs it', { timeout: 240_000 }, () => {
  it('npm start: ready, imports exactly the source counts, scoped and masked API, re-import changes nothing', async () => {
    const data = tempDir();
    const env = { VOCHUB_DATA: data, PORT: '0', VOCHUB_LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [bin, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const deadline = Date.now() + 90_000;
    while (!stdout.includes('导入完成 / imports finished') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    expect(stdout).toContain('导入完成 / imports finished');
    const url = /API:\s+(http:\/\/[^\s]+)\/api\/v1/.exec(stdout)![1]!;
    const adminKey = /^\s+(vh_[A-Za-z0-9_-]+)\s*$/m.exec(stdout)![1]!;

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/members`)).status).toBe(401);

    const expected = expectedFromSources();
    expect(expected.edfiStudents).toBe(960);
    const s = stats(env);
    const byCode = Object.fromEntries(s.members.map((m) => [m.code, m]));
    expect(byCode['4133010101']!.records).toMatchObject({ student: expected.edfiStudents, staff: expected.edfiStaff, section: expected.edfiSections });
    expect(byCode['3133010103']!.records.student).toBe(expected.rosterStudents);
    expect(Object.keys(byCode['3133010103']!.problems).sort()).toEqual(expected.rosterProblems);
    expect(byCode['4133010102']!.records.student).toBeGreaterThan(0);
    expect(byCode['3133010103']!.records.staff).toBe(expected.staff);
    expect(byCode['91330106MA2DEMAW1X']!.records.internship).toBe(expected.internships);

    // Operators can test every adapter's source and see what it offers.
    const checked = vochub(['adapters', 'check'], env);
    expect(checked.status, checked.stdout).toBe(0);
    expect(checked.stdout.match(/^正常 ok/gm)).toHaveLength(7);
    const offered = JSON.parse(vochub(['adapters', 'discover', '--json', '-m', '4133010101'], env).stdout) as Record<string, { name: string; contract?: string; count?: number }[]>;
    expect(offered['4133010101/sis-edfi']!.find((e) => e.name === 'Student.xml#Student')).toMatchObject({ contract: 'student', count: 960 });

    // A reader key of the 中职 school sees its students with masked ID numbers, and nothing of member A.
    const created = vochub(['keys', 'create', '--name', 'test reader', '--role', 'reader', '--member', '3133010103'], env);
    expect(created.status, created.stderr).toBe(0);
    const readerKey = created.stdout.trim();
    const auth = { authorization: `Bearer ${readerKey}` };
    const own = (await (await fetch(`${url}/api/v1/records/student?limit=5`, { headers: auth })).json()) as { items: { data: { idNumber?: string } }[] };
    expect(own.items).toHaveLength(5);
    for (const r of own.items) expect(r.data.idNumber).toMatch(/^\d{6}\*{8}[\dX]{4}$/);
    const other = await fetch(`${url}/api/v1/records/student?member=4133010101`, { headers: auth });
    expect(other.status).toBe(403);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    expect(((await other.json()) as { code: string }).code).toBe('MEMBER_SCOPE');
    const admin = await fetch(`${url}/api/v1/records/student?member=4133010101&limit=1`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(admin.status).toBe(200);

    // No ID number of the roster is in clear in the data folder.
    const firstId = readFileSync(join(demo, 'data/zhongzhi-roster/roster.csv'), 'latin1').split('\r\n')[1]!.split(',')[4]!;
    expect(firstId).toMatch(/^\d{17}[\dX]$/);
    child.kill('SIGTERM');
    await once(child, 'exit');
    for (const file of ['vochub.db', 'vochub.db-wal', 'bus.db', 'bus.db-wal']) {
      try {
        expect(readFileSync(join(data, file)).includes(Buffer.from(firstId))).toBe(false);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }

    // Importing the same files again changes no count.
    const again = vochub(['import', '--no-progress'], env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/sis-edfi: succeeded .*inserted=0 .*updated=0 .*unchanged=\d+ .*deleted=0/);
    expect(stats(env)).toEqual(s);

    // One command for the status-data target: all six tables of the 中职 school filled, every rule passing.
    const report = vochub(['reports', 'generate', 'zhuangtai', '--year', '2024-2025', '--member', '3133010103', '--json'], env);
    expect(report.status, report.stderr).toBe(0);
    const [run] = JSON.parse(report.stdout) as { status: string; counts: Record<string, number>; issues: { code: string }[] }[];
    expect(run!.issues).toEqual([]);
    expect(run!.status).toBe('awaiting-approval');
    for (const table of ['school', 'programmes', 'students', 'teachers', 'enterprises', 'bases']) expect(run!.counts[table], table).toBeGreaterThan(0);
  });

  it('SIGKILL in the middle of an import, then start again: same counts, no loss, no duplicates', async () => {
    const work = tempDir();
    const rows = 30_000;
    const gen = spawnSync(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'scripts/generate-roster.ts'), '--rows', String(rows), '--seed', '11', '--encoding', 'gbk', '--out', join(work, 'roster.csv')], { encoding: 'utf8', cwd: repoRoot });
    expect(gen.status, gen.stderr).toBe(0);
    const config = readFileSync(join(demo, 'vochub.yaml'), 'utf8');
    // One member, the roster adapter pointed at the big file, small batches so the kill lands mid-run.
    const roster = config.slice(config.indexOf('  # A 中职 school'), config.indexOf('      # 教职工名册'));
    writeFileSync(
      join(work, 'vochub.yaml'),
      `group: { code: KILL-TEST, name: 测试集团 }\nmembers:\n${roster.replace('files: data/zhongzhi-roster/roster.csv', `files: roster.csv\n          batchSize: 500`).replace('plugins: []', '')}`,
    );
    const env = { VOCHUB_DATA: join(work, 'var'), VOCHUB_CONFIG: join(work, 'vochub.yaml'), VOCHUB_LOG_LEVEL: 'debug' };
    const child = spawn(process.execPath, [bin, 'import', '--no-progress'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let commits = 0;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      commits += chunk.split('batch committed').length - 1;
      if (commits >= 8) child.kill('SIGKILL');
    });
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    const partial = stats({ ...env, VOCHUB_LOG_LEVEL: 'warn' }).members[0]!.records.student ?? 0;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(rows);

    const resumed = vochub(['import', '--no-progress'], { ...env, VOCHUB_LOG_LEVEL: 'info' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('import run resumed');
    expect(stats({ ...env, VOCHUB_LOG_LEVEL: 'warn' }).members[0]!.records.student).toBe(rows);
    // A further run finds every record unchanged: nothing was stored twice or half.
    const again = vochub(['import', '--no-progress'], { ...env, VOCHUB_LOG_LEVEL: 'warn' });
    expect(again.stdout).toMatch(new RegExp(`inserted=0 .*updated=0 .*unchanged=${rows} .*deleted=0`));
  });
});
