// A report run: build → validate → freeze (keyed snapshot hash, encrypted snapshot and files) →
// approval by a reporter → deliver → receipt. Re-submission of a snapshot already accepted for the
// same definition, member and 学年 files nothing and points at the first receipt. Every step is audited.
import { createHash } from 'node:crypto';
import { AUDIT_ACTIONS, audit } from '../../../core/security/audit.ts';
import { VochubError } from '../../../core/errors.ts';
import type { HubServices } from '../../../core/plugins/types.ts';
import type { Principal } from '../../../core/security/types.ts';
import type { MemberSupplement } from './build-input.ts';
import { canonicalJson } from './canonical.ts';
import { hasErrors } from './issues.ts';
import { newRunId, type RunStore, type StoredFile } from './run-store.ts';
import { parseSchoolYear, type SchoolYear } from './school-year.ts';
import { checkAllowedUrl, deliverBySoap, type SoapEndpointConfig } from './soap-delivery.ts';
import type { Dataset, ReportDefinition, ReportIssue, ReportRun, RunDiff } from './types.ts';
import { writeWorkbooks } from './workbook.ts';
import { buildXueji } from './xueji.ts';
import { buildZhuangtai } from './zhuangtai.ts';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface ReportingConfig {
  definitions?: string;
  allowedHosts?: string[];
  endpoints?: Record<string, SoapEndpointConfig>;
  schedules?: { definition: string; cron: string; members?: string[]; year?: string }[];
  members?: Record<string, MemberSupplement>;
}

/** Who acts: an API principal, or the local operator of the CLI. */
export type Actor = Principal | { id: string; role?: string; member?: string | null };

export interface ReportServiceOptions {
  services: HubServices;
  runs: RunStore;
  definitions: Map<string, ReportDefinition>;
  config: ReportingConfig;
  baseDir: string;
  /** Injected for tests of the retry path only (real SOAP server, no real waiting). */
  sleep?: (ms: number) => Promise<void>;
}

const notFound = (id: string): VochubError => new VochubError('REPORT_RUN_NOT_FOUND', `报送任务不存在 / report run ${id} not found`, { status: 404 });

export class ReportService {
  private readonly locks = new Map<string, Promise<ReportRun>>();
  constructor(private readonly o: ReportServiceOptions) {}

  definitions(): ReportDefinition[] {
    return [...this.o.definitions.values()];
  }

  definition(id: string): ReportDefinition {
    const d = this.o.definitions.get(id);
    if (!d) throw new VochubError('REPORT_DEFINITION_UNKNOWN', `未知的报表定义 / unknown report definition ${id}; known: ${[...this.o.definitions.keys()].join(', ')}`, { status: 404 });
    return d;
  }

  listRuns(member: string | null, definition?: string, limit?: number): ReportRun[] {
    return this.o.runs.list({ member, definition, limit });
  }

  getRun(id: string): ReportRun {
    const run = this.o.runs.get(id);
    if (!run) throw notFound(id);
    return run;
  }

  private year(label: string): SchoolYear {
    const year = parseSchoolYear(label);
    if (!year) throw new VochubError('REPORT_YEAR_INVALID', `学年格式应为 2024-2025 / school year must look like 2024-2025, got ${label}`, { status: 400 });
    return year;
  }

  private member(code: string): { code: string; name: string } {
    const m = this.o.services.config.members.find((x) => x.code === code);
    if (!m) throw new VochubError('MEMBER_UNKNOWN', `未知成员 / unknown member ${code}`, { status: 404 });
    return { code: m.code, name: m.name };
  }

  private async build(definition: ReportDefinition, member: { code: string; name: string }, year: SchoolYear): Promise<{ dataset: Dataset; issues: ReportIssue[] }> {
    const input = { services: this.o.services, definition, member, year, supplement: this.o.config.members?.[member.code] ?? {} };
    return definition.target === 'xueji' ? buildXueji(input) : buildZhuangtai(input);
  }

  private hash(dataset: Dataset): string {
    // Keyed (HMAC through the vault): the snapshot holds PII, so a plain hash could be guessed at.
    return this.o.services.vault.lookupHash('report-snapshot', canonicalJson(dataset));
  }

  /** Builds, validates and (when valid) freezes a snapshot waiting for approval. */
  async generate(input: { definition: string; member: string; year: string; actor: Actor }): Promise<ReportRun> {
    const definition = this.definition(input.definition);
    const member = this.member(input.member);
    const year = this.year(input.year);
    const { dataset, issues } = await this.build(definition, member, year);
    const rejected = hasErrors(issues);
    const files = rejected ? [] : await writeWorkbooks(definition, dataset);
    const vault = this.o.services.vault;
    const stored: StoredFile[] = files.map((f) => ({
      name: f.name, mediaType: XLSX_TYPE, sha256: createHash('sha256').update(f.content).digest('hex'), bytes: f.content.length, sheets: f.sheets, rows: f.rows,
      content: vault.encryptText(f.content.toString('base64')), encrypted: true,
    }));
    const run: ReportRun = {
      id: newRunId(), definition: definition.id, member: member.code, schoolYear: year.label,
      status: rejected ? 'rejected' : 'awaiting-approval',
      snapshotHash: this.hash(dataset), containsPii: true,
      counts: Object.fromEntries(Object.entries(dataset.tables).map(([k, t]) => [k, t.rows.length])),
      issues, files: stored.map(({ content: _c, encrypted: _e, ...meta }) => meta),
      createdAt: new Date().toISOString(), createdBy: input.actor.id,
    };
    this.o.runs.insert(run, { content: vault.encryptText(canonicalJson(dataset)), encrypted: true }, stored);
    await this.audit(input.actor, 'reports.generate', run, { status: run.status, counts: run.counts, errors: issues.filter((i) => i.severity === 'error').map((i) => i.code), piiRead: true });
    return run;
  }

  /** Re-checks a frozen run: snapshot integrity, and whether the store has changed since (stale). */
  async validate(id: string, actor: Actor): Promise<{ run: ReportRun; intact: boolean; stale: boolean; issues: ReportIssue[] }> {
    const run = this.getRun(id);
    const dataset = this.snapshot(run);
    const intact = this.hash(dataset) === run.snapshotHash;
    const current = await this.build(this.definition(run.definition), this.member(run.member), this.year(run.schoolYear));
    const stale = this.hash(current.dataset) !== run.snapshotHash;
    await this.audit(actor, 'reports.validate', run, { intact, stale, errors: current.issues.filter((i) => i.severity === 'error').map((i) => i.code) });
    return { run, intact, stale, issues: current.issues };
  }

  async approve(id: string, actor: Actor): Promise<ReportRun> {
    const run = this.getRun(id);
    if (run.status === 'rejected') throw new VochubError('REPORT_RUN_REJECTED', `报表未通过校验，不能批准 / run ${id} failed validation and cannot be approved`, { status: 409 });
    if (run.status !== 'awaiting-approval') throw new VochubError('REPORT_RUN_STATE', `任务状态为 ${run.status}，不能批准 / run ${id} is ${run.status}, not awaiting approval`, { status: 409 });
    run.status = 'approved';
    run.approvedAt = new Date().toISOString();
    run.approvedBy = actor.id;
    this.o.runs.update(run);
    await this.audit(actor, 'reports.approve', run, { snapshotHash: run.snapshotHash });
    return run;
  }

  /** Delivers an approved run; the same snapshot accepted before → no second filing. One submit per run at a time. */
  submit(id: string, actor: Actor): Promise<ReportRun> {
    const current = this.locks.get(id);
    if (current) return current;
    const promise = this.doSubmit(id, actor).finally(() => this.locks.delete(id));
    this.locks.set(id, promise);
    return promise;
  }

  private async doSubmit(id: string, actor: Actor): Promise<ReportRun> {
    const run = this.getRun(id);
    if (run.status === 'delivered' || run.status === 'duplicate') return run;
    if (run.status === 'rejected') throw new VochubError('REPORT_RUN_REJECTED', `报表未通过校验，不能报送 / run ${id} failed validation and cannot be submitted`, { status: 409 });
    if (run.status === 'awaiting-approval') throw new VochubError('REPORT_NOT_APPROVED', `报表尚未批准，不能报送 / run ${id} must be approved by a reporter before it is submitted`, { status: 409 });
    const definition = this.definition(run.definition);
    await this.audit(actor, 'reports.submit', run, { snapshotHash: run.snapshotHash, delivery: definition.delivery.kind });

    const accepted = this.o.runs.lastAccepted(run.definition, run.member, run.schoolYear, run.id);
    if (accepted && accepted.snapshotHash === run.snapshotHash && accepted.receipt) {
      run.status = 'duplicate';
      run.duplicateOf = accepted.id;
      run.receipt = accepted.receipt;
      run.submittedAt = new Date().toISOString();
      run.submittedBy = actor.id;
      this.o.runs.update(run);
      await this.audit(actor, 'reports.deliver.duplicate', run, { duplicateOf: accepted.id, receiptNumber: accepted.receipt.receiptNumber });
      return run;
    }

    run.submittedAt = new Date().toISOString();
    run.submittedBy = actor.id;
    const filingKey = createHash('sha256').update(`${run.definition}\n${run.member}\n${run.schoolYear}\n${run.snapshotHash}`).digest('hex');
    if (definition.delivery.kind === 'download') {
      // Manual filing: the files are released for upload; the receipt records what was released.
      run.receipt = { receiptNumber: `LOCAL-${run.id}`, acceptedAt: run.submittedAt, filingKey, channel: 'download' };
      run.status = 'delivered';
      run.delivery = { attempts: 1 };
    } else {
      const name = definition.delivery.endpoint;
      const endpoint = this.o.config.endpoints?.[name];
      if (!endpoint) throw new VochubError('REPORT_ENDPOINT_UNKNOWN', `插件配置中没有报送端点 ${name} / no endpoint ${name} in the plugin config`, { status: 500 });
      checkAllowedUrl(endpoint.url, this.o.config.allowedHosts ?? []);
      const documents = run.files.map((f) => {
        const stored = this.o.runs.file(run.id, f.name)!;
        return { name: f.name, mediaType: f.mediaType, sha256: f.sha256, content: this.fileBytes(stored) };
      });
      let attempts = 0;
      try {
        const outcome = await deliverBySoap(endpoint, { filingKey, definition: run.definition, member: run.member, schoolYear: run.schoolYear, snapshotHash: run.snapshotHash, documents }, {
          baseDir: this.o.baseDir, channel: `soap:${name}`, sleep: this.o.sleep,
          onAttempt: (n, error) => {
            attempts = n;
            if (error) this.o.services.logger.warn({ run: run.id, attempt: n, error }, 'report delivery attempt failed');
          },
        });
        run.receipt = outcome.receipt;
        run.status = 'delivered';
        run.delivery = { attempts: outcome.attempts };
      } catch (error) {
        const e = error instanceof VochubError ? error : new VochubError('REPORT_DELIVERY_FAILED', String(error), { status: 502 });
        run.status = 'delivery-failed';
        run.delivery = { attempts, lastError: { code: e.code, message: e.message } };
        this.o.runs.update(run);
        await this.audit(actor, 'reports.deliver.failed', run, { code: e.code, attempts });
        throw e;
      }
    }
    this.o.runs.update(run);
    await this.audit(actor, 'reports.deliver', run, { receiptNumber: run.receipt.receiptNumber, channel: run.receipt.channel, alreadyFiled: run.receipt.alreadyFiled === true, attempts: run.delivery?.attempts });
    return run;
  }

  /** Row-level differences against the last accepted run of the same definition, member and 学年. */
  async diff(id: string, actor: Actor): Promise<RunDiff> {
    const run = this.getRun(id);
    const against = this.o.runs.lastAccepted(run.definition, run.member, run.schoolYear, run.id);
    const mine = this.snapshot(run);
    const theirs = against ? this.snapshot(against) : undefined;
    const tables: RunDiff['tables'] = {};
    let identical = true;
    for (const [name, table] of Object.entries(mine.tables)) {
      const before = new Map<string, Record<string, unknown>>();
      theirs?.tables[name]?.keys.forEach((k, i) => before.set(k, theirs.tables[name]!.rows[i]!));
      const added: string[] = [];
      const changed: { key: string; fields: string[] }[] = [];
      const seen = new Set<string>();
      table.keys.forEach((key, i) => {
        seen.add(key);
        const old = before.get(key);
        if (!old) return void added.push(key);
        const row = table.rows[i]!;
        // Field names only: values may be PII.
        const fields = [...new Set([...Object.keys(row), ...Object.keys(old)])].filter((f) => canonicalJson(row[f]) !== canonicalJson(old[f]));
        if (fields.length > 0) changed.push({ key, fields });
      });
      const removed = [...before.keys()].filter((k) => !seen.has(k));
      if (added.length || removed.length || changed.length) identical = false;
      tables[name] = { added, removed, changed };
    }
    await this.audit(actor, 'reports.diff', run, { against: against?.id });
    return { run: run.id, against: against?.id, tables, identical: against !== undefined && identical };
  }

  /** The bytes of a generated file (decrypted); audited as a PII read. */
  async download(id: string, name: string, actor: Actor): Promise<{ name: string; mediaType: string; content: Buffer }> {
    const run = this.getRun(id);
    const stored = this.o.runs.file(id, name);
    if (!stored) throw new VochubError('REPORT_FILE_NOT_FOUND', `文件不存在 / file ${name} not found in run ${id}`, { status: 404 });
    await audit(this.o.services.store, actor, AUDIT_ACTIONS.piiRead, { member: run.member, target: `report-run:${run.id}`, detail: { resource: 'report-file', file: name, definition: run.definition } });
    return { name: stored.name, mediaType: stored.mediaType, content: this.fileBytes(stored) };
  }

  private fileBytes(stored: StoredFile): Buffer {
    return Buffer.from(stored.encrypted ? this.o.services.vault.decryptText(stored.content) : stored.content, 'base64');
  }

  private snapshot(run: ReportRun): Dataset {
    const s = this.o.runs.snapshot(run.id);
    if (!s) throw notFound(run.id);
    return JSON.parse(s.encrypted ? this.o.services.vault.decryptText(s.content) : s.content) as Dataset;
  }

  private async audit(actor: Actor, action: string, run: ReportRun, detail: Record<string, unknown>): Promise<void> {
    await audit(this.o.services.store, actor as Principal, action, { member: run.member, target: `report-run:${run.id}`, detail: { definition: run.definition, schoolYear: run.schoolYear, ...detail } });
  }
}
