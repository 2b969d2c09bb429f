// Routes under /api/v1. Every handler: permission (preHandler) → member scope → work → audit → view.
// Audit entries are written before the response is sent: no PII leaves without its audit record.
import type { FastifyInstance } from 'fastify';
import { createApiKey, revokeApiKey } from '../security/api-keys.ts';
import { AUDIT_ACTIONS, audit } from '../security/audit.ts';
import { ALL_PERMISSIONS, ROLES, checkKeyGrant, isCrossMember } from '../security/roles.ts';
import type { Permission, Principal, Role } from '../security/types.ts';
import type { ContractInfo } from '../contracts/types.ts';
import type { StoredProblem } from '../store/types.ts';
import { principalOf, requirePermission } from './auth.ts';
import { apiError } from './problem.ts';
import type { HubContext } from './types.ts';
import {
  assertOwnedOrNotFound, deadLetterView, piiFieldUnion, problemOriginalView, problemView, recordView, requireReveal, scopedMember,
} from './views.ts';
import type { RecordView } from './views.ts';

const problemRef = { $ref: 'Problem#' } as const;
function errors(...statuses: number[]): Record<number, typeof problemRef> {
  const out: Record<number, typeof problemRef> = { 401: problemRef };
  for (const s of statuses) out[s] = problemRef;
  return out;
}

const memberCode = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' } as const;
const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  after: { type: 'string', maxLength: 512, description: 'Opaque cursor from the previous page (`next`)' },
} as const;
const revealQuery = {
  reveal: { type: 'boolean', default: false, description: 'Return PII in clear (needs pii:read; audited). Default: masked.' },
} as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

const SCHEMAS = [
  {
    $id: 'RecordView',
    type: 'object',
    properties: {
      member: { type: 'string' }, contract: { type: 'string' }, key: { type: 'string' },
      aliases: { type: 'array', items: { type: 'string' } }, version: { type: 'integer' }, deleted: { type: 'boolean' },
      masked: { type: 'boolean', description: 'true when x-pii fields are masked' },
      provenance: anyObject, createdAt: { type: 'string' }, updatedAt: { type: 'string' },
      data: { ...anyObject, description: 'The record in its contract shape (GET /api/v1/contracts/{name})' },
    },
  },
  {
    $id: 'ImportRun',
    type: 'object',
    properties: {
      id: { type: 'string' }, member: { type: 'string' }, adapter: { type: 'string' },
      status: { type: 'string', enum: ['running', 'succeeded', 'failed', 'stopped'] }, mode: { type: 'string', enum: ['full', 'delta'] },
      startedAt: { type: 'string' }, finishedAt: { type: 'string' },
      counts: {
        type: 'object',
        properties: {
          read: { type: 'integer' }, inserted: { type: 'integer' }, updated: { type: 'integer' }, unchanged: { type: 'integer' },
          deleted: { type: 'integer' }, problems: { type: 'integer' },
        },
      },
      sources: { type: 'array', items: { type: 'object', properties: { file: { type: 'string' }, encoding: { type: 'string' }, rows: { type: 'integer' } } } },
      error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
      cleaning: { type: 'object', description: 'Cleaning rule (contracts/cleaning-rules.json) → fields it changed in this run', additionalProperties: { type: 'integer' } },
    },
  },
  {
    $id: 'ProblemRecord',
    type: 'object',
    description: 'An input problem; `value` is masked unless it is known not to be PII (or revealed)',
    properties: {
      id: { type: 'string' }, member: { type: 'string' }, adapter: { type: 'string' }, runId: { type: 'string' },
      status: { type: 'string' }, createdAt: { type: 'string' }, code: { type: 'string' }, severity: { type: 'string' },
      message: { type: 'string' }, file: { type: 'string' }, line: { type: 'integer' }, column: { type: ['string', 'integer'] },
      sheet: { type: 'string' }, field: { type: 'string' }, value: { type: 'string' }, contract: { type: 'string' }, key: { type: 'string' },
      original: { description: 'The record as read (masked unless revealed); only on GET /problems/{id}' },
    },
  },
  {
    $id: 'DeadLetter',
    type: 'object',
    properties: {
      id: { type: 'string' }, topic: { type: 'string' }, group: { type: 'string' }, event: anyObject,
      reason: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, stage: { type: 'string' }, adapter: { type: 'string' } } },
      attempts: { type: 'integer' }, firstFailureAt: { type: 'string' }, lastFailureAt: { type: 'string' },
      status: { type: 'string', enum: ['open', 'replayed', 'discarded'] }, masked: { type: 'boolean' },
    },
  },
  {
    $id: 'AuditEntry',
    type: 'object',
    properties: {
      seq: { type: 'integer' }, at: { type: 'string' }, actor: { type: 'string' }, action: { type: 'string' },
      member: { type: 'string' }, target: { type: 'string' }, detail: anyObject, prevHash: { type: 'string' }, hash: { type: 'string' },
    },
  },
  {
    $id: 'ApiKey',
    type: 'object',
    properties: {
      id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, member: { type: ['string', 'null'] },
      permissions: { type: 'array', items: { type: 'string' } }, createdAt: { type: 'string' }, revokedAt: { type: 'string' },
      key: { type: 'string', description: 'The clear key: only in the response that created it' },
    },
  },
] as const;

function pageOf(ref: string) {
  return { type: 'object', properties: { items: { type: 'array', items: { $ref: `${ref}#` } }, next: { type: 'string' } } } as const;
}

export async function registerApiRoutes(api: FastifyInstance, hub: HubContext): Promise<void> {
  for (const schema of SCHEMAS) api.addSchema(schema);
  const { store, vault, contracts } = hub;
  const union = piiFieldUnion(contracts);

  const contractOr404 = (name: string): ContractInfo => {
    if (!contracts.has(name)) throw apiError('CONTRACT_UNKNOWN', `未知契约 / Unknown contract: ${name}`);
    return contracts.get(name);
  };

  /** One entry per member whose records left in this response, when PII was revealed or the caller is group-wide. */
  async function auditRecordRead(principal: Principal, contract: string, read: { member: string; key: string; revealed: string[] }[]): Promise<void> {
    const byMember = new Map<string, { keys: string[]; fields: Set<string>; revealed: boolean }>();
    for (const r of read) {
      let m = byMember.get(r.member);
      if (!m) byMember.set(r.member, (m = { keys: [], fields: new Set(), revealed: false }));
      m.keys.push(r.key);
      if (r.revealed.length > 0) {
        m.revealed = true;
        for (const f of r.revealed) m.fields.add(f);
      }
    }
    for (const [member, m] of byMember) {
      const cross = isCrossMember(principal, member);
      if (!m.revealed && !cross) continue;
      await audit(store, principal, m.revealed ? AUDIT_ACTIONS.piiRead : AUDIT_ACTIONS.crossMemberRead, {
        member,
        target: contract,
        detail: { resource: 'records', contract, keys: m.keys, count: m.keys.length, crossMember: cross, ...(m.revealed ? { fields: [...m.fields].sort() } : {}) },
      });
    }
  }

  // ---- members and contracts -------------------------------------------------------------
  api.get('/members', {
    preHandler: requirePermission('members:read'),
    schema: {
      summary: 'Members of the group (adapters only for members in scope)', tags: ['members'],
      response: {
        200: {
          type: 'object',
          properties: {
            group: { type: 'object', properties: { code: { type: 'string' }, name: { type: 'string' }, nameEn: { type: 'string' } } },
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  code: { type: 'string' }, name: { type: 'string' }, nameEn: { type: 'string' }, type: { type: 'string' }, seats: { type: 'integer' },
                  adapters: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' }, schedule: { type: 'string' } } } },
                },
              },
            },
          },
        },
        ...errors(403),
      },
    },
  }, async (request) => {
    const principal = principalOf(request);
    return {
      group: hub.config.group,
      items: hub.config.members.map((m) => ({
        code: m.code, name: m.name, nameEn: m.nameEn, type: m.type, seats: m.seats,
        // Adapter configs may name hosts and secret references: never returned; names only, and only in scope.
        adapters: principal.member === null || principal.member === m.code
          ? m.adapters.map((a) => ({ name: a.name, type: a.type, schedule: a.schedule }))
          : undefined,
      })),
    };
  });

  // `$id` (the contract URN) passes through additionalProperties: declaring a property named `$id` makes
  // the OpenAPI ref resolver take it for a schema id.
  const contractInfoSchema = {
    type: 'object',
    additionalProperties: true,
    properties: {
      name: { type: 'string' }, version: { type: 'integer' }, title: { type: 'string' }, keyField: { type: 'string' },
      pii: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, class: { type: 'string' } } } },
    },
  } as const;

  api.get('/contracts', {
    schema: { summary: 'Canonical contracts', tags: ['contracts'], response: { 200: { type: 'object', properties: { items: { type: 'array', items: contractInfoSchema } } }, ...errors() } },
  }, async () => ({ items: contracts.list() }));

  api.get<{ Params: { name: string } }>('/contracts/:name', {
    schema: {
      summary: 'One contract with its JSON Schema (draft 2020-12)', tags: ['contracts'],
      params: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' } } },
      response: { 200: { ...contractInfoSchema, properties: { ...contractInfoSchema.properties, schema: anyObject } }, ...errors(404) },
    },
  }, async (request) => {
    const info = contractOr404(request.params.name);
    return { ...info, schema: contracts.schema(info.name) };
  });

  // ---- records -------------------------------------------------------------------------
  api.get<{ Params: { contract: string }; Querystring: { member?: string; limit: number; after?: string; reveal: boolean; includeDeleted: boolean } }>('/records/:contract', {
    preHandler: requirePermission('records:read'),
    schema: {
      summary: 'Records of one contract, paged; PII masked unless reveal=true (pii:read, audited)', tags: ['records'],
      params: { type: 'object', required: ['contract'], properties: { contract: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' } } },
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { member: memberCode, ...pageQuery, ...revealQuery, includeDeleted: { type: 'boolean', default: false } },
      },
      response: { 200: pageOf('RecordView'), ...errors(400, 403, 404) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const contract = contractOr404(request.params.contract);
    const member = scopedMember(principal, request.query.member);
    const reveal = requireReveal(principal, request.query.reveal, member);
    const page = await store.listRecords({
      contract: contract.name, member, limit: request.query.limit, after: request.query.after, includeDeleted: request.query.includeDeleted,
    });
    const items: RecordView[] = [];
    const read: { member: string; key: string; revealed: string[] }[] = [];
    for (const row of page.items) {
      const { view, revealed } = recordView(vault, contract, row, reveal);
      items.push(view);
      read.push({ member: row.member, key: row.key, revealed });
    }
    await auditRecordRead(principal, contract.name, read);
    return page.next === undefined ? { items } : { items, next: page.next };
  });

  api.get<{ Params: { contract: string; member: string; key: string }; Querystring: { reveal: boolean } }>('/records/:contract/:member/:key', {
    preHandler: requirePermission('records:read'),
    schema: {
      summary: 'One record by member and source key (or alias)', tags: ['records'],
      params: {
        type: 'object', required: ['contract', 'member', 'key'],
        properties: { contract: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' }, member: memberCode, key: { type: 'string', minLength: 1, maxLength: 512 } },
      },
      querystring: { type: 'object', additionalProperties: false, properties: { ...revealQuery } },
      response: { 200: { $ref: 'RecordView#' }, ...errors(400, 403, 404) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const contract = contractOr404(request.params.contract);
    const member = scopedMember(principal, request.params.member)!;
    const reveal = requireReveal(principal, request.query.reveal, member);
    const row = await store.getRecord(member, contract.name, request.params.key);
    if (!row) throw apiError('NOT_FOUND', `记录不存在 / Record not found: ${contract.name}/${member}/${request.params.key}`);
    const { view, revealed } = recordView(vault, contract, row, reveal);
    await auditRecordRead(principal, contract.name, [{ member: row.member, key: row.key, revealed }]);
    return view;
  });

  // ---- import runs and problems --------------------------------------------------------------
  api.get<{ Querystring: { member?: string; limit: number; after?: string } }>('/import-runs', {
    preHandler: requirePermission('records:read'),
    schema: {
      summary: 'Import runs, newest first', tags: ['imports'],
      querystring: { type: 'object', additionalProperties: false, properties: { member: memberCode, ...pageQuery } },
      response: { 200: pageOf('ImportRun'), ...errors(400, 403) },
    },
  }, async (request) => {
    const member = scopedMember(principalOf(request), request.query.member);
    return store.listRuns({ member, limit: request.query.limit, after: request.query.after });
  });

  api.get<{ Params: { id: string } }>('/import-runs/:id', {
    preHandler: requirePermission('records:read'),
    schema: {
      summary: 'One import run', tags: ['imports'],
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
      response: { 200: { $ref: 'ImportRun#' }, ...errors(403, 404) },
    },
  }, async (request) => {
    const run = await store.getRun(request.params.id);
    assertOwnedOrNotFound(principalOf(request), run?.member, ['导入批次', 'Import run']);
    if (!run) throw apiError('NOT_FOUND', '导入批次不存在 / Import run not found');
    return run;
  });

  async function problemPage(principal: Principal, query: Parameters<typeof store.listProblems>[0], reveal: boolean) {
    const page = await store.listProblems(query);
    const items: Record<string, unknown>[] = [];
    const revealedBy = new Map<string, string[]>();
    for (const p of page.items) {
      const { view, revealed } = problemView(vault, contracts, p, reveal);
      items.push(view);
      if (revealed) {
        const ids = revealedBy.get(p.member) ?? [];
        ids.push(p.id);
        revealedBy.set(p.member, ids);
      }
    }
    for (const [member, ids] of revealedBy) {
      await audit(store, principal, AUDIT_ACTIONS.piiRead, { member, target: 'problems', detail: { resource: 'problems', problems: ids, crossMember: isCrossMember(principal, member) } });
    }
    return page.next === undefined ? { items } : { items, next: page.next };
  }

  api.get<{ Params: { id: string }; Querystring: { limit: number; after?: string; reveal: boolean } }>('/import-runs/:id/problems', {
    preHandler: requirePermission('records:read'),
    schema: {
      summary: 'Problems recorded by one import run', tags: ['imports'],
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery, ...revealQuery } },
      response: { 200: pageOf('ProblemRecord'), ...errors(400, 403, 404) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const run = await store.getRun(request.params.id);
    assertOwnedOrNotFound(principal, run?.member, ['导入批次', 'Import run']);
    if (!run) throw apiError('NOT_FOUND', '导入批次不存在 / Import run not found');
    const reveal = requireReveal(principal, request.query.reveal, run.member);
    return problemPage(principal, { runId: run.id, member: run.member, limit: request.query.limit, after: request.query.after }, reveal);
  });

  api.get<{ Querystring: { member?: string; code?: string; status?: StoredProblem['status']; limit: number; after?: string; reveal: boolean } }>('/problems', {
    preHandler: requirePermission('records:read'),
    schema: {
      summary: 'Input problems across runs', tags: ['problems'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          member: memberCode, code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
          status: { type: 'string', enum: ['open', 'fixed', 'replayed', 'ignored', 'superseded'] }, ...pageQuery, ...revealQuery,
        },
      },
      response: { 200: pageOf('ProblemRecord'), ...errors(400, 403) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const member = scopedMember(principal, request.query.member);
    const reveal = requireReveal(principal, request.query.reveal, member);
    const { code, status, limit, after } = request.query;
    return problemPage(principal, { member, code, status, limit, after }, reveal);
  });

  api.get<{ Params: { id: string }; Querystring: { reveal: boolean } }>('/problems/:id', {
    preHandler: requirePermission('records:read'),
    schema: {
      summary: 'One problem with its original record (masked unless revealed)', tags: ['problems'],
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
      querystring: { type: 'object', additionalProperties: false, properties: { ...revealQuery } },
      response: { 200: { $ref: 'ProblemRecord#' }, ...errors(400, 403, 404) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const problem = await store.getProblem(request.params.id);
    assertOwnedOrNotFound(principal, problem?.member, ['问题记录', 'Problem']);
    if (!problem) throw apiError('NOT_FOUND', '问题记录不存在 / Problem not found');
    const reveal = requireReveal(principal, request.query.reveal, problem.member);
    const { view, revealed } = problemView(vault, contracts, problem, reveal);
    const stored = await store.getProblemOriginal(problem.id);
    view.original = problemOriginalView(vault, contracts, problem, stored, reveal);
    if (revealed || (reveal && stored !== null)) {
      await audit(store, principal, AUDIT_ACTIONS.piiRead, {
        member: problem.member, target: `problem:${problem.id}`, detail: { resource: 'problems', problems: [problem.id], crossMember: isCrossMember(principal, problem.member) },
      });
    }
    return view;
  });

  api.post<{ Params: { id: string }; Body: { record?: Record<string, unknown> } | undefined }>('/problems/:id/replay', {
    preHandler: requirePermission('problems:manage'),
    schema: {
      summary: 'Re-send a problem\'s record (optionally fixed) through the pipeline', tags: ['problems'],
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
      body: { type: ['object', 'null'], additionalProperties: false, properties: { record: { type: 'object', description: 'The fixed record (contract shape)' } } },
      response: { 202: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } }, ...errors(400, 403, 404) },
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const problem = await store.getProblem(request.params.id);
    assertOwnedOrNotFound(principal, problem?.member, ['问题记录', 'Problem']);
    if (!problem) throw apiError('NOT_FOUND', '问题记录不存在 / Problem not found');
    const fixed = request.body?.record;
    await audit(store, principal, AUDIT_ACTIONS.problemReplay, {
      member: problem.member, target: `problem:${problem.id}`, detail: { fixed: fixed !== undefined, code: problem.code },
    });
    await hub.imports.replayProblem(problem.id, fixed);
    return reply.code(202).send({ id: problem.id, status: 'accepted' });
  });

  api.post<{ Params: { member: string; adapter: string }; Body: { mode?: 'full' | 'delta' } | undefined }>('/members/:member/adapters/:adapter/import', {
    preHandler: requirePermission('imports:run'),
    schema: {
      summary: 'Run an import now; answers when the run ends', tags: ['imports'],
      params: {
        type: 'object', required: ['member', 'adapter'],
        properties: { member: memberCode, adapter: { type: 'string', minLength: 1, maxLength: 128 } },
      },
      body: { type: ['object', 'null'], additionalProperties: false, properties: { mode: { type: 'string', enum: ['full', 'delta'] } } },
      response: { 200: { $ref: 'ImportRun#' }, ...errors(400, 403, 404) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const member = scopedMember(principal, request.params.member)!;
    const memberConfig = hub.config.members.find((m) => m.code === member);
    if (!memberConfig) throw apiError('MEMBER_UNKNOWN', `未知成员 / Unknown member: ${member}`);
    if (!memberConfig.adapters.some((a) => a.name === request.params.adapter)) {
      throw apiError('ADAPTER_UNKNOWN', `成员 ${member} 没有适配器 ${request.params.adapter} / Member ${member} has no adapter ${request.params.adapter}`);
    }
    const mode = request.body?.mode;
    await audit(store, principal, AUDIT_ACTIONS.importRun, { member, target: `adapter:${request.params.adapter}`, detail: { mode: mode ?? 'default' } });
    // The hub counts every finished run in the metrics, whoever started it.
    return hub.imports.run(member, request.params.adapter, mode ? { mode } : undefined);
  });

  // ---- dead letters --------------------------------------------------------------------
  api.get<{ Querystring: { topic?: string; group?: string; member?: string; status?: 'open' | 'replayed' | 'discarded'; limit: number; after?: string; reveal: boolean } }>('/dlq', {
    preHandler: requirePermission('dlq:manage'),
    schema: {
      summary: 'Dead letters (event data masked unless revealed)', tags: ['dlq'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          topic: { type: 'string', maxLength: 256 }, group: { type: 'string', maxLength: 256 }, member: memberCode,
          status: { type: 'string', enum: ['open', 'replayed', 'discarded'] }, ...pageQuery, ...revealQuery,
        },
      },
      response: { 200: pageOf('DeadLetter'), ...errors(400, 403) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const { topic, group, status, limit, after } = request.query;
    const member = scopedMember(principal, request.query.member);
    const reveal = requireReveal(principal, request.query.reveal, member);
    const page = await hub.bus.dlq.list({ topic, group, member, status, limit, after });
    // Defence in depth: a transport that ignored the member filter must still not leak another member's events.
    const items = page.items.filter((e) => principal.member === null || e.event.member === principal.member);
    if (reveal && items.length > 0) {
      const byMember = new Map<string, string[]>();
      for (const e of items) byMember.set(e.event.member, [...(byMember.get(e.event.member) ?? []), e.id]);
      for (const [m, ids] of byMember) {
        await audit(store, principal, AUDIT_ACTIONS.piiRead, { member: m, target: 'dlq', detail: { resource: 'dlq', entries: ids, crossMember: isCrossMember(principal, m) } });
      }
    }
    const views = items.map((e) => deadLetterView(contracts, e, reveal, union));
    return page.next === undefined ? { items: views } : { items: views, next: page.next };
  });

  async function ownedDeadLetter(principal: Principal, id: string) {
    const entry = await hub.bus.dlq.get(id);
    assertOwnedOrNotFound(principal, entry?.event.member, ['死信', 'Dead letter']);
    if (!entry) throw apiError('NOT_FOUND', '死信不存在 / Dead letter not found');
    return entry;
  }
  const dlqIdParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } as const;

  api.get<{ Params: { id: string }; Querystring: { reveal: boolean } }>('/dlq/:id', {
    preHandler: requirePermission('dlq:manage'),
    schema: {
      summary: 'One dead letter with its original event', tags: ['dlq'], params: dlqIdParams,
      querystring: { type: 'object', additionalProperties: false, properties: { ...revealQuery } },
      response: { 200: { $ref: 'DeadLetter#' }, ...errors(400, 403, 404) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const entry = await ownedDeadLetter(principal, request.params.id);
    const reveal = requireReveal(principal, request.query.reveal, entry.event.member);
    if (reveal) {
      await audit(store, principal, AUDIT_ACTIONS.piiRead, {
        member: entry.event.member, target: `dlq:${entry.id}`, detail: { resource: 'dlq', entries: [entry.id], crossMember: isCrossMember(principal, entry.event.member) },
      });
    }
    return deadLetterView(contracts, entry, reveal, union);
  });

  api.post<{ Params: { id: string }; Body: { data?: unknown } | undefined }>('/dlq/:id/replay', {
    preHandler: requirePermission('dlq:manage'),
    schema: {
      summary: 'Re-deliver a dead letter to its group (optionally with fixed data)', tags: ['dlq'], params: dlqIdParams,
      body: { type: ['object', 'null'], additionalProperties: false, properties: { data: { description: 'Replacement event data' } } },
      response: { 202: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } }, ...errors(400, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const entry = await ownedDeadLetter(principal, request.params.id);
    if (entry.status !== 'open') throw apiError('DLQ_ENTRY_CLOSED', `死信状态为 ${entry.status} / Dead letter is ${entry.status}`);
    const fixed = request.body !== null && request.body !== undefined && 'data' in request.body;
    await audit(store, principal, AUDIT_ACTIONS.dlqReplay, { member: entry.event.member, target: `dlq:${entry.id}`, detail: { topic: entry.topic, group: entry.group, fixed } });
    await hub.bus.dlq.replay(entry.id, fixed ? { data: request.body!.data } : undefined);
    return reply.code(202).send({ id: entry.id, status: 'replayed' });
  });

  api.post<{ Params: { id: string } }>('/dlq/:id/discard', {
    preHandler: requirePermission('dlq:manage'),
    schema: {
      summary: 'Discard a dead letter', tags: ['dlq'], params: dlqIdParams,
      response: { 200: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } }, ...errors(403, 404, 409) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const entry = await ownedDeadLetter(principal, request.params.id);
    if (entry.status !== 'open') throw apiError('DLQ_ENTRY_CLOSED', `死信状态为 ${entry.status} / Dead letter is ${entry.status}`);
    await audit(store, principal, AUDIT_ACTIONS.dlqDiscard, { member: entry.event.member, target: `dlq:${entry.id}`, detail: { topic: entry.topic, group: entry.group } });
    await hub.bus.dlq.discard(entry.id);
    return { id: entry.id, status: 'discarded' };
  });

  // ---- audit ------------------------------------------------------------------------------
  api.get<{ Querystring: { member?: string; limit: number; after?: number } }>('/audit', {
    preHandler: requirePermission('audit:read'),
    schema: {
      summary: 'Audit log (hash-chained, append-only)', tags: ['audit'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { member: memberCode, limit: pageQuery.limit, after: { type: 'integer', minimum: 0, description: 'Last seq seen' } },
      },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: { $ref: 'AuditEntry#' } }, next: { type: 'integer' } } }, ...errors(400, 403) },
    },
  }, async (request) => {
    const member = scopedMember(principalOf(request), request.query.member);
    const items = await store.listAudit({ member, limit: request.query.limit, after: request.query.after });
    const last = items.at(-1);
    return items.length === request.query.limit && last ? { items, next: last.seq } : { items };
  });

  api.get('/audit/verify', {
    preHandler: requirePermission('audit:read'),
    schema: {
      summary: 'Recompute the audit hash chain', tags: ['audit'],
      response: { 200: { type: 'object', properties: { intact: { type: 'boolean' }, brokenAt: { type: ['integer', 'null'] } } }, ...errors(403) },
    },
  }, async (request) => {
    if (principalOf(request).member !== null) throw apiError('FORBIDDEN', '仅集团角色可校验整条审计链 / Only group roles verify the whole chain');
    const brokenAt = await store.verifyAudit();
    return { intact: brokenAt === null, brokenAt };
  });

  // ---- API keys -----------------------------------------------------------------------------
  api.post<{ Body: { name: string; role: Role; member?: string | null; permissions?: Permission[] } }>('/keys', {
    preHandler: requirePermission('keys:manage'),
    schema: {
      summary: 'Create an API key (the clear key is in this response only)', tags: ['keys'],
      body: {
        type: 'object', additionalProperties: false, required: ['name', 'role'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 },
          role: { type: 'string', enum: [...ROLES] },
          member: { anyOf: [memberCode, { type: 'null' }], description: 'Required for member roles; member-admins default to their own member' },
          permissions: { type: 'array', items: { type: 'string', enum: [...ALL_PERMISSIONS] }, maxItems: 16, uniqueItems: true },
        },
      },
      response: { 201: { $ref: 'ApiKey#' }, ...errors(400, 403) },
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const { name, role, permissions = [] } = request.body;
    const member = request.body.member ?? (principal.member !== null && role !== 'group-admin' && role !== 'auditor' ? principal.member : null);
    const grant = checkKeyGrant(principal, { role, member, permissions });
    if (!grant.ok) throw apiError(grant.code, `不能创建该密钥 / Cannot create this key: ${grant.reason}`);
    if (member !== null && !hub.config.members.some((m) => m.code === member)) throw apiError('MEMBER_UNKNOWN', `未知成员 / Unknown member: ${member}`);
    const created = await createApiKey(store, { name, role, member, permissions });
    await audit(store, principal, AUDIT_ACTIONS.keyCreate, {
      member: member ?? undefined, target: `key:${created.row.id}`, detail: { role, permissions: created.row.permissions, name },
    });
    return reply.code(201).send({ ...created.row, key: created.key });
  });

  api.get('/keys', {
    preHandler: requirePermission('keys:manage'),
    schema: { summary: 'API keys in scope (never their secrets)', tags: ['keys'], response: { 200: { type: 'object', properties: { items: { type: 'array', items: { $ref: 'ApiKey#' } } } }, ...errors(403) } },
  }, async (request) => {
    const principal = principalOf(request);
    const rows = await store.listApiKeys();
    return {
      items: rows
        .filter((r) => principal.member === null || r.member === principal.member)
        .map(({ secretHash: _hidden, ...row }) => row),
    };
  });

  api.delete<{ Params: { id: string } }>('/keys/:id', {
    preHandler: requirePermission('keys:manage'),
    schema: {
      summary: 'Revoke an API key', tags: ['keys'],
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f]{12}$' } } },
      response: { 204: { type: 'null' }, ...errors(400, 403, 404) },
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const row = await store.findApiKey(request.params.id);
    assertOwnedOrNotFound(principal, row?.member ?? undefined, ['API 密钥', 'API key']);
    if (!row) throw apiError('NOT_FOUND', 'API 密钥不存在 / API key not found');
    await revokeApiKey(store, row.id);
    await audit(store, principal, AUDIT_ACTIONS.keyRevoke, { member: row.member ?? undefined, target: `key:${row.id}`, detail: { role: row.role } });
    return reply.code(204).send();
  });
}
