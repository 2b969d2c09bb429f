// Quality capability plugin: scores per member and contract over the federated store, drill-down to
// problem rows, Excel export, snapshots for the trend. Routes under /api/v1/quality, member-scoped.
import { isAbsolute, resolve } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { openCodeRegistry } from '../../core/contracts/code-registry.ts';
import { VochubError } from '../../core/errors.ts';
import type { HubServices, PluginFactory, PluginInstance, RouteKit } from '../../core/plugins/types.ts';
import { DIMENSIONS, evaluate, loadQualityRules, type Evaluation, type QualityRules } from './evaluate.ts';
import { buildReport, issueView, recordSnapshot, reportWorkbook, selectIssues, type IssueView, type QualityReport } from './report.ts';

export interface QualityConfig {
  rules?: string;
  maxAgeDays?: number;
  snapshots?: number;
}

export interface QualityService {
  rules: QualityRules;
  /** Evaluates every member (cross-member rules need them all) and records a snapshot when scores moved. */
  evaluate(): Promise<{ evaluation: Evaluation; report: (member?: string) => QualityReport }>;
  /** Drill-down rows (masked). Quarantined rows get a replay link only when their original row was kept. */
  issues(evaluation: Evaluation, query: Parameters<typeof selectIssues>[1]): Promise<{ total: number; items: IssueView[] }>;
  workbook(member?: string): Promise<Buffer>;
}

/** The service behind routes and CLI; also used directly by tests and `vochub quality`. */
export function createQualityService(services: Pick<HubServices, 'config' | 'store' | 'vault' | 'contracts'>, config: QualityConfig = {}, baseDir = services.config.baseDir): QualityService {
  const file = config.rules === undefined ? undefined : isAbsolute(config.rules) ? config.rules : resolve(baseDir, config.rules);
  const rules = loadQualityRules(file);
  if (config.maxAgeDays !== undefined) rules.timeliness.maxAgeDays = config.maxAgeDays;
  const codes = openCodeRegistry(services.config.hub.dataDir);
  const names = new Map(services.config.members.map((m) => [m.code, m.name]));
  const limit = config.snapshots ?? 200;
  let inFlight: Promise<{ evaluation: Evaluation; report: (member?: string) => QualityReport }> | undefined;

  const run = async () => {
    // Another process (the CLI's `codes load`) may have loaded a catalogue since.
    codes.reload();
    const evaluation = await evaluate({ store: services.store, vault: services.vault, contracts: services.contracts, codes, rules, members: services.config.members.map((m) => m.code) });
    const snapshots = await recordSnapshot(services.store, evaluation, limit);
    return { evaluation, report: (member?: string) => buildReport(evaluation, snapshots, rules.weights, names, member) };
  };

  // Rows the adapter could not parse into a record (e.g. an ID in scientific notation) have no original
  // to replay: the fix is in the source file, and the next import supersedes the problem.
  const withReplay = async (view: IssueView): Promise<IssueView> => {
    if (!view.problemId) return view;
    const original = await services.store.getProblemOriginal(view.problemId).catch(() => null);
    if (original) return view;
    const { replay: _replay, ...rest } = view;
    return { ...rest, fix: 'reimport' };
  };

  const service: QualityService = {
    rules,
    evaluate() {
      // Concurrent report requests share one evaluation.
      inFlight ??= run().finally(() => (inFlight = undefined));
      return inFlight;
    },
    async issues(evaluation, query) {
      const page = selectIssues(evaluation, query);
      return { total: page.total, items: await Promise.all(page.items.map((f) => withReplay(issueView(services.vault, services.contracts, f)))) };
    },
    async workbook(member) {
      const { evaluation, report } = await service.evaluate();
      const all = selectIssues(evaluation, { member, limit: 100_000 }).items.map((f) => issueView(services.vault, services.contracts, f));
      return reportWorkbook(report(member), all);
    },
  };
  return service;
}

const memberQuery = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;

async function routes(app: FastifyInstance, kit: RouteKit, service: QualityService): Promise<void> {
  const read = kit.requirePermission('quality:read');

  app.get<{ Querystring: { member?: string } }>('/report', {
    preHandler: read,
    schema: { summary: '质量报告：按成员与数据集的得分和趋势 / quality scores per member and contract, with trend', tags: ['quality'], querystring: { type: 'object', additionalProperties: false, properties: { member: memberQuery } } },
  }, async (request: FastifyRequest<{ Querystring: { member?: string } }>) => {
    const member = kit.scopedMember(kit.principalOf(request), request.query.member);
    const { report } = await service.evaluate();
    return report(member);
  });

  app.get<{ Querystring: { member?: string; contract?: string; rule?: string; dimension?: string; limit: number; offset: number } }>('/issues', {
    preHandler: read,
    schema: {
      summary: '问题明细：出问题的行及其位置（已脱敏）/ drill-down to problem rows with location (masked)', tags: ['quality'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          member: memberQuery, contract: { type: 'string', maxLength: 64 }, rule: { type: 'string', maxLength: 128 }, dimension: { type: 'string', enum: [...DIMENSIONS] },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, offset: { type: 'integer', minimum: 0, default: 0 },
        },
      },
    },
  }, async (request) => {
    const q = request.query;
    const member = kit.scopedMember(kit.principalOf(request), q.member);
    const { evaluation } = await service.evaluate();
    const page = await service.issues(evaluation, { member, contract: q.contract, rule: q.rule, dimension: q.dimension, limit: q.limit, offset: q.offset });
    return { total: page.total, offset: q.offset, items: page.items, ...(q.offset + page.items.length < page.total ? { nextOffset: q.offset + page.items.length } : {}) };
  });

  app.get<{ Querystring: { member?: string } }>('/report.xlsx', {
    preHandler: read,
    schema: { summary: '质量报告 Excel（给成员学校）/ the report as an Excel workbook for member schools', tags: ['quality'], querystring: { type: 'object', additionalProperties: false, properties: { member: memberQuery } } },
  }, async (request, reply) => {
    const principal = kit.principalOf(request);
    const member = kit.scopedMember(principal, request.query.member);
    const body = await service.workbook(member);
    await kit.audit(principal, 'quality.export', { ...(member ? { member } : {}), target: 'quality-report.xlsx' });
    return reply
      .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('content-disposition', `attachment; filename="quality-${member ?? 'all'}.xlsx"`)
      .send(body);
  });
}

const factory: PluginFactory<QualityConfig> = (context) => {
  const services = context.services;
  if (!services) throw new VochubError('PLUGIN_SERVICES_MISSING', 'quality 插件需要枢纽服务 / the quality plugin needs hub services');
  const service = createQualityService(services, context.config, context.baseDir);
  const instance: PluginInstance = {
    async init() {},
    async health() {
      return { ok: true, detail: `${Object.keys(service.rules.contracts).length} contracts with rules` };
    },
    routes: (app, kit) => routes(app, kit, service),
  };
  return instance;
};

export default factory;
