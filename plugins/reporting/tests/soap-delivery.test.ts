// Delivery to a government web service: a real `soap` server built from wsdl/reporting.wsdl on an
// ephemeral port stores filings and returns receipts. Approval comes first; the same snapshot twice
// is filed once; transient faults are retried; a filing that landed before the connection dropped
// is found by QueryFiling instead of being sent again. Every step is in the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitBatch } from '../../../core/pipeline/process.ts';
import { startGovEndpoint, type GovEndpoint } from '../testing/gov-endpoint.ts';
import { cli, openTestHub, readWorkbook, ZHONGZHI, type TestHub } from './helpers.ts';

describe('SOAP delivery of the status data', () => {
  let gov: GovEndpoint;
  let t: TestHub;
  const approver = { id: 'key:reporter-test', role: 'reporter' };

  beforeAll(async () => {
    gov = await startGovEndpoint();
    t = await openTestHub({
      members: [ZHONGZHI],
      reporting: (config) => ({ ...config, endpoints: { province: { url: gov.url, timeoutMs: 5000, attempts: 4, backoffMs: 0 } } }),
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await gov?.close();
  });

  async function addTeacher(key: string): Promise<void> {
    const run = await t.hub.store.createRun({ member: ZHONGZHI, adapter: 'hr-export', mode: 'delta' });
    await commitBatch({ store: t.hub.store, contracts: t.hub.contracts, vault: t.hub.vault, member: ZHONGZHI, adapter: 'hr-export', runId: run.id }, {
      problems: [],
      records: [{ contract: 'staff', key, op: 'upsert', data: { id: key, staffNumber: key, name: '新老师', sex: '1', employmentType: 'full-time', dualQualified: true } }],
    });
  }

  let first: string;

  it('needs a reporter approval before anything is sent', async () => {
    const run = await t.reports.generate({ definition: 'zhuangtai-push', member: ZHONGZHI, year: '2024-2025', actor: cli });
    expect(run.status).toBe('awaiting-approval');
    await expect(t.reports.submit(run.id, cli)).rejects.toMatchObject({ code: 'REPORT_NOT_APPROVED', status: 409 });
    expect(gov.submitCalls).toBe(0);
    first = run.id;
  });

  it('round-trips the filing and records the receipt', async () => {
    await t.reports.approve(first, approver);
    const run = await t.reports.submit(first, cli);
    expect(run.status).toBe('delivered');
    expect(run.receipt).toMatchObject({ receiptNumber: 'GOV-2024-2025-000001', channel: 'soap:province', alreadyFiled: false });
    expect(run.approvedBy).toBe('key:reporter-test');
    expect(gov.filings.size).toBe(1);
    const filing = [...gov.filings.values()][0]!;
    expect(filing.receipt.receiptNumber).toBe(run.receipt!.receiptNumber);
    expect(filing).toMatchObject({ definition: 'zhuangtai-push', member: ZHONGZHI, schoolYear: '2024-2025', snapshotHash: run.snapshotHash });
    // The server got the workbook itself, byte for byte.
    expect(filing.documents.map((d) => d.sha256)).toEqual(run.files.map((f) => f.sha256));
    const workbook = await readWorkbook(filing.documents[0]!.content);
    expect(workbook.worksheets.map((s) => s.name)).toContain('专业设置');
  });

  it('files the same snapshot only once: the second run points at the first receipt', async () => {
    const again = await t.reports.generate({ definition: 'zhuangtai-push', member: ZHONGZHI, year: '2024-2025', actor: cli });
    const firstRun = t.reports.getRun(first);
    expect(again.snapshotHash).toBe(firstRun.snapshotHash);
    expect((await t.reports.diff(again.id, cli)).identical).toBe(true);
    await t.reports.approve(again.id, approver);
    const submitted = await t.reports.submit(again.id, cli);
    expect(submitted).toMatchObject({ status: 'duplicate', duplicateOf: first, receipt: firstRun.receipt });
    // Submitting a delivered run again is a no-op too.
    expect((await t.reports.submit(first, cli)).status).toBe('delivered');
    expect(gov.submitCalls).toBe(1);
    expect(gov.filings.size).toBe(1);
  });

  it('shows the diff against the last accepted filing and retries transient faults', async () => {
    await addTeacher('T900');
    const changed = await t.reports.generate({ definition: 'zhuangtai-push', member: ZHONGZHI, year: '2024-2025', actor: cli });
    const diff = await t.reports.diff(changed.id, cli);
    expect(diff.against).toBe(first);
    expect(diff.identical).toBe(false);
    expect(diff.tables.teachers!.added).toEqual(['T900']);
    expect(diff.tables.school!.changed).toEqual([{ key: ZHONGZHI, fields: ['dualQualified', 'teachers'] }]);
    await t.reports.approve(changed.id, approver);
    gov.failNext = 2;
    const calls = gov.submitCalls;
    const delivered = await t.reports.submit(changed.id, cli);
    expect(delivered.status).toBe('delivered');
    expect(delivered.delivery?.attempts).toBe(3);
    expect(gov.submitCalls - calls).toBe(3);
    expect(gov.filings.size).toBe(2);
  });

  it('asks QueryFiling after a dropped connection instead of filing twice', async () => {
    await addTeacher('T901');
    const run = await t.reports.generate({ definition: 'zhuangtai-push', member: ZHONGZHI, year: '2024-2025', actor: cli });
    await t.reports.approve(run.id, approver);
    gov.dropNext = 1;
    const queries = gov.queryCalls;
    const delivered = await t.reports.submit(run.id, cli);
    expect(delivered.status).toBe('delivered');
    expect(delivered.receipt?.alreadyFiled).toBe(true);
    expect(gov.queryCalls - queries).toBe(1);
    expect(gov.filings.size).toBe(3);
  });

  it('writes every step to the hash-chained audit log', async () => {
    const actions = (await t.hub.store.listAudit({ member: ZHONGZHI, limit: 500 })).map((e) => e.action);
    for (const action of ['reports.generate', 'reports.approve', 'reports.submit', 'reports.deliver', 'reports.deliver.duplicate', 'reports.diff']) {
      expect(actions).toContain(action);
    }
    const approvals = (await t.hub.store.listAudit({ member: ZHONGZHI, limit: 500 })).filter((e) => e.action === 'reports.approve');
    expect(approvals.every((e) => e.actor === 'key:reporter-test' && e.target?.startsWith('report-run:'))).toBe(true);
    expect(await t.hub.store.verifyAudit()).toBeNull();
  });
});
