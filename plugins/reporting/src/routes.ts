// /api/v1/reports: member-scoped. Running and reading runs needs reports:run; approving needs
// reports:approve; downloading a generated file (it holds PII) needs reports:run plus pii:read or
// reports:approve (the reporter who files it), and is audited as a PII read.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteKit } from '../../../core/plugins/types.ts';
import type { Principal } from '../../../core/security/types.ts';
import type { ReportService } from './service.ts';
import type { ReportRun } from './types.ts';

const runParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^rr[0-9a-z]{6,40}$' } } } as const;

export function reportRoutes(service: ReportService) {
  return async (app: FastifyInstance, kit: RouteKit): Promise<void> => {
    const run = kit.requirePermission('reports:run');
    const approve = kit.requirePermission('reports:approve');
    /** The run, if the caller may reach its member (403 MEMBER_SCOPE otherwise). */
    const scopedRun = (request: FastifyRequest): { principal: Principal; run: ReportRun } => {
      const principal = kit.principalOf(request);
      const found = service.getRun((request.params as { id: string }).id);
      kit.scopedMember(principal, found.member);
      return { principal, run: found };
    };

    app.get('/definitions', { preHandler: run, schema: { tags: ['reports'], summary: '报表定义 / report definitions' } }, async () =>
      service.definitions().map((d) => ({ id: d.id, title: d.title, target: d.target, delivery: d.delivery.kind, rowsPerSheet: d.output.rowsPerSheet, sheetsPerFile: d.output.sheetsPerFile })),
    );

    app.get('/runs', {
      preHandler: run,
      schema: { tags: ['reports'], summary: '报送任务 / report runs', querystring: { type: 'object', properties: { member: { type: 'string' }, definition: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } } },
    }, async (request) => {
      const q = request.query as { member?: string; definition?: string; limit?: number };
      const member = kit.scopedMember(kit.principalOf(request), q.member);
      return { items: service.listRuns(member ?? null, q.definition, q.limit) };
    });

    app.post('/runs', {
      preHandler: run,
      schema: {
        tags: ['reports'], summary: '生成报表（构建、校验、冻结快照）/ generate a run: build, validate, freeze',
        body: { type: 'object', additionalProperties: false, required: ['definition', 'year'], properties: { definition: { type: 'string' }, year: { type: 'string' }, member: { type: 'string' } } },
      },
    }, async (request, reply) => {
      const body = request.body as { definition: string; year: string; member?: string };
      const principal = kit.principalOf(request);
      const member = kit.scopedMember(principal, body.member);
      if (!member) throw kit.error('REPORT_MEMBER_REQUIRED', 400, '集团角色须指定 member / a group role must name the member');
      const created = await service.generate({ definition: body.definition, member, year: body.year, actor: principal });
      return reply.code(created.status === 'rejected' ? 422 : 201).send(created);
    });

    app.get('/runs/:id', { preHandler: run, schema: { tags: ['reports'], params: runParams } }, async (request) => scopedRun(request).run);

    app.post('/runs/:id/validate', { preHandler: run, schema: { tags: ['reports'], params: runParams } }, async (request) => {
      const { principal, run: r } = scopedRun(request);
      const result = await service.validate(r.id, principal);
      return { run: result.run.id, intact: result.intact, stale: result.stale, issues: result.issues };
    });

    app.post('/runs/:id/approve', { preHandler: approve, schema: { tags: ['reports'], params: runParams } }, async (request) => {
      const { principal, run: r } = scopedRun(request);
      return service.approve(r.id, principal);
    });

    app.post('/runs/:id/submit', { preHandler: run, schema: { tags: ['reports'], params: runParams } }, async (request) => {
      const { principal, run: r } = scopedRun(request);
      return service.submit(r.id, principal);
    });

    app.get('/runs/:id/diff', { preHandler: run, schema: { tags: ['reports'], params: runParams } }, async (request) => {
      const { principal, run: r } = scopedRun(request);
      return service.diff(r.id, principal);
    });

    app.get('/runs/:id/files/:name', {
      preHandler: run,
      schema: { tags: ['reports'], params: { type: 'object', required: ['id', 'name'], properties: { id: runParams.properties.id, name: { type: 'string', pattern: '^[^/\\\\]+\\.xlsx$' } } } },
    }, async (request, reply) => {
      const { principal, run: r } = scopedRun(request);
      if (!principal.permissions.has('pii:read') && !principal.permissions.has('reports:approve')) {
        throw kit.error('FORBIDDEN', 403, '下载报表文件需要 pii:read 或 reports:approve / downloading report files needs pii:read or reports:approve');
      }
      const file = await service.download(r.id, (request.params as { name: string }).name, principal);
      return reply
        .type(file.mediaType)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`)
        .send(file.content);
    });
  };
}
