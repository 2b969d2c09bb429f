// The soap adapter reads: a configured operation (Kuali LprService.getLprsByPerson) is called on a real
// `soap` server built from the same WSDL, and the result becomes valid enrollment records.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import soap from 'soap';
import { getSharedRegistry } from '../../core/contracts/index.ts';
import { silentLogger } from '../../core/logger.ts';
import type { ReadBatch } from '../../core/plugins/types.ts';
import createSoapAdapter, { type SoapAdapterConfig } from './index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const wsdl = join(here, 'fixtures/kuali-student/LprService.wsdl');
const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

const lprs: Record<string, Record<string, string>[]> = {
  'P-1001': [
    { id: 'lpr-1', personId: 'P-1001', luiId: 'lui-ENG101', effectiveDate: '2024-09-01T00:30:00', expirationDate: '2025-01-15T17:00:00+08:00', typeKey: 'kuali.lpr.type.registrant', stateKey: 'kuali.lpr.state.active' },
    { id: 'lpr-2', personId: 'P-1001', luiId: 'lui-MTH101', effectiveDate: '2024-09-02T09:30:00-05:00', typeKey: 'kuali.lpr.type.waitlist', stateKey: 'kuali.lpr.state.active' },
  ],
  'T-7': [{ id: 'lpr-9', personId: 'T-7', luiId: 'lui-ENG101', effectiveDate: '2024-08-25T08:00:00+08:00', typeKey: 'kuali.lpr.type.instructor.main', stateKey: 'kuali.lpr.state.active' }],
};

async function lprServer(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  await new Promise<void>((ready, fail) =>
    soap.listen(server, {
      path: '/LprService',
      xml: readFileSync(wsdl, 'utf8'),
      uri: wsdl,
      suppressStack: true,
      services: { LprService: { LprService: { getLprsByPerson: (args: { personId: string }) => ({ return: lprs[args.personId] ?? [] }) } } },
      callback: (err: unknown) => (err ? fail(err) : ready()),
    }),
  );
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/LprService`;
}

function config(endpoint: string): SoapAdapterConfig {
  return {
    wsdl: 'fixtures/kuali-student',
    entry: 'LprService.wsdl',
    endpoint,
    zone: '+08:00',
    reads: [
      {
        contract: 'enrollment',
        operation: 'getLprsByPerson',
        calls: [{ personId: 'P-1001' }, { personId: 'T-7' }],
        records: 'return',
        fields: {
          id: 'id',
          personId: 'personId',
          sectionId: 'luiId',
          role: { path: 'typeKey', map: { 'kuali.lpr.type.registrant': 'student', 'kuali.lpr.type.instructor.main': 'teacher' } },
          beginDate: { path: 'effectiveDate', type: 'date' },
          endDate: { path: 'expirationDate', type: 'date' },
        },
      },
    ],
  };
}

describe('soap adapter', () => {
  it('reads Kuali LPRs as enrollment records: dates on the peer’s own calendar, unmapped roles become problems', async () => {
    const endpoint = await lprServer();
    const adapter = await createSoapAdapter({ instance: 'lpr', config: config(endpoint), baseDir: here, dataDir: mkdtempSync(join(tmpdir(), 'vochub-soap-')), contracts: getSharedRegistry(), logger: silentLogger });
    await adapter.init!();
    expect(await adapter.check!()).toMatchObject({ ok: true });
    const discovered = await adapter.discover!();
    expect(discovered).toHaveLength(34);
    expect(discovered.find((d) => d.name === 'getLprsByPerson')).toMatchObject({ contract: 'enrollment' });

    const batches: ReadBatch[] = [];
    for await (const b of adapter.read!({ mode: 'full', signal: new AbortController().signal })) batches.push(b);
    const records = batches.flatMap((b) => b.records);
    expect(records.map((r) => r.data)).toEqual([
      // 00:30 local (+08:00) is still 1 September: the offset-less value took the declared zone, not UTC.
      { id: 'lpr-1', personId: 'P-1001', sectionId: 'lui-ENG101', role: 'student', beginDate: '2024-09-01', endDate: '2025-01-15' },
      { id: 'lpr-9', personId: 'T-7', sectionId: 'lui-ENG101', role: 'teacher', beginDate: '2024-08-25' },
    ]);
    for (const r of records) expect(getSharedRegistry().validate('enrollment', r.data)).toEqual({ ok: true });
    expect(batches.flatMap((b) => b.problems).map((p) => [p.code, p.field, p.line])).toEqual([['VALUE_UNMAPPED', 'role', 2]]);
    expect(batches.at(-1)!.complete).toEqual(['enrollment']);
  });

  it('stops at start-up when the configured operation is not in the WSDL', async () => {
    const bad = config('http://127.0.0.1:9/LprService');
    bad.reads![0]!.operation = 'getEnrollments';
    const adapter = await createSoapAdapter({ instance: 'lpr', config: bad, baseDir: here, dataDir: tmpdir(), contracts: getSharedRegistry(), logger: silentLogger });
    await expect(adapter.init!()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
