// HTTP API under /api/v1/identity. Scope rule: a member-scoped caller sees only golden records that
// include at least one record of its member (others answer 404, so ids cannot be probed), sees the
// details of its own member's records only (other members' linked records appear as {member, contract}),
// and sees golden fields only where the surviving value comes from its own records. Group roles see
// every linked record, masked. PII is always masked here; clear values stay with GET /records?reveal.
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../../core/security/types.ts';
import type { RouteKit } from '../../../core/plugins/types.ts';
import type { LinkRow, RecordRef } from './db.ts';
import { IDENTITY_AUDIT, type IdentityService } from './service.ts';

const memberCode = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' } as const;
const contractName = { type: 'string', pattern: '^[a-z][a-z0-9-]*$', maxLength: 64 } as const;
const recordKey = { type: 'string', minLength: 1, maxLength: 512 } as const;
const goldenIdSchema = { type: 'string', pattern: '^g-[0-9a-f-]{36}$' } as const;
const refSchema = {
  type: 'object', additionalProperties: false, required: ['member', 'contract', 'key'],
  properties: { member: memberCode, contract: contractName, key: recordKey },
} as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

const linkedRecordSchema = {
  type: 'object',
  properties: {
    member: { type: 'string' }, contract: { type: 'string' }, key: { type: 'string' }, method: { type: 'string' },
    score: { type: ['number', 'null'] }, linkedAt: { type: 'string' }, data: anyObject,
    hidden: { type: 'boolean', description: 'true: another member\'s record, shown without its key and data' },
  },
} as const;

const personSchema = {
  type: 'object',
  properties: {
    goldenId: { type: 'string' }, status: { type: 'string' }, mergedInto: { type: 'string' },
    members: { type: 'array', items: { type: 'string' } },
    golden: { ...anyObject, description: 'Surviving values (masked PII)' },
    sources: { ...anyObject, description: 'field → { member, contract, key?, rule }' },
    withheld: { type: 'array', items: { type: 'string' }, description: 'Fields whose surviving value comes from another member' },
    records: { type: 'array', items: linkedRecordSchema },
  },
} as const;

function visible(principal: Principal, member: string): boolean {
  return principal.member === null || principal.member === member;
}

export async function identityRoutes(app: FastifyInstance, kit: RouteKit, service: IdentityService): Promise<void> {
  const { db } = service;
  const { deps } = service;

  const notFound = (what: string): Error => kit.error('NOT_FOUND', 404, `${what}不存在 / ${what} not found`);

  /** The golden record as the principal may see it; undefined when it may not see it at all. */
  async function personView(principal: Principal, goldenId: string): Promise<Record<string, unknown> | undefined> {
    const golden = db.golden(goldenId);
    if (!golden) return undefined;
    let links = db.linksOf(goldenId);
    if (golden.status === 'retired') {
      // A merged-away id still answers (with where it went) to callers that may see the surviving record.
      const into = golden.mergedInto ? db.linksOf(golden.mergedInto) : [];
      if (!into.some((l) => visible(principal, l.member))) return undefined;
      return { goldenId, status: 'retired', mergedInto: golden.mergedInto, members: [], golden: {}, sources: {}, withheld: [], records: [] };
    }
    if (!links.some((l) => visible(principal, l.member))) return undefined;
    const revealed = new Map<string, Record<string, unknown>>();
    const records: Record<string, unknown>[] = [];
    const readMembers = new Set<string>();
    for (const l of links) {
      if (!visible(principal, l.member)) {
        records.push({ member: l.member, contract: l.contract, hidden: true });
        continue;
      }
      const stored = await deps.store.getRecord(l.member, l.contract, l.key);
      if (!stored) continue;
      const clear = deps.vault.reveal(stored);
      revealed.set(`${l.member}\u0000${l.contract}\u0000${l.key}`, clear);
      const masked = deps.contracts.has(l.contract) ? deps.vault.mask(deps.contracts.get(l.contract), clear) : {};
      records.push({ member: l.member, contract: l.contract, key: l.key, method: l.method, score: l.score, linkedAt: l.linkedAt, data: masked });
      readMembers.add(l.member);
    }
    links = links.filter((l) => revealed.has(`${l.member}\u0000${l.contract}\u0000${l.key}`) || !visible(principal, l.member));
    const survivors = db.survivors(goldenId);
    const picks: { field: string; ref: RecordRef; rule: string }[] = survivors.length > 0 || links.length !== 1
      ? survivors
      : Object.keys(service.settings.survivorship).map((field) => ({ field, ref: links[0]!, rule: 'only' }));
    const goldenValues: Record<string, unknown> = {};
    const sources: Record<string, unknown> = {};
    const withheld: string[] = [];
    for (const p of picks) {
      if (!visible(principal, p.ref.member)) {
        withheld.push(p.field);
        sources[p.field] = { member: p.ref.member, contract: p.ref.contract, rule: p.rule };
        continue;
      }
      const clear = revealed.get(`${p.ref.member}\u0000${p.ref.contract}\u0000${p.ref.key}`);
      const value = clear?.[p.field];
      if (value === undefined) continue;
      const contract = deps.contracts.has(p.ref.contract) ? deps.contracts.get(p.ref.contract) : undefined;
      goldenValues[p.field] = contract ? deps.vault.mask(contract, { [p.field]: value })[p.field] : value;
      sources[p.field] = { member: p.ref.member, contract: p.ref.contract, key: p.ref.key, rule: p.rule };
    }
    const crossMembers = [...readMembers].filter((m) => principal.member === null || m !== principal.member);
    if (crossMembers.length > 0) {
      await kit.audit(principal, IDENTITY_AUDIT.read, { target: goldenId, detail: { goldenId, members: crossMembers, crossMember: true } });
    }
    return {
      goldenId, status: golden.status, members: [...new Set(links.map((l) => l.member))].sort(),
      golden: goldenValues, sources, withheld, records,
    };
  }

  app.get<{ Params: { goldenId: string } }>('/persons/:goldenId', {
    preHandler: kit.requirePermission('identity:read'),
    schema: {
      summary: 'One golden record: surviving values (masked) and the member records it links', tags: ['identity'],
      params: { type: 'object', required: ['goldenId'], properties: { goldenId: goldenIdSchema } },
      response: { 200: personSchema },
    },
  }, async (request) => {
    const view = await personView(kit.principalOf(request), request.params.goldenId);
    if (!view) throw notFound('人员 / Person');
    return view;
  });

  app.get<{ Querystring: { member: string; contract: string; key: string } }>('/crosswalk', {
    preHandler: kit.requirePermission('identity:read'),
    schema: {
      summary: 'Golden id (and linked records) of one member record, by source key or alias', tags: ['identity'],
      querystring: { type: 'object', additionalProperties: false, required: ['member', 'contract', 'key'], properties: { member: memberCode, contract: contractName, key: recordKey } },
      response: { 200: personSchema },
    },
  }, async (request) => {
    const principal = kit.principalOf(request);
    const member = kit.scopedMember(principal, request.query.member)!;
    const { contract, key } = request.query;
    // An alias (OneRoster multi-role sourcedId) resolves to the record's key.
    const stored = await deps.store.getRecord(member, contract, key);
    const link = db.link({ member, contract, key: stored?.key ?? key });
    if (!link) throw notFound('记录的身份链接 / Identity link of the record');
    const view = await personView(principal, link.goldenId);
    if (!view) throw notFound('记录的身份链接 / Identity link of the record');
    return view;
  });

  app.get<{ Querystring: { status: string; member?: string; limit: number; after?: number } }>('/review', {
    preHandler: kit.requirePermission('identity:read'),
    schema: {
      summary: 'Review queue: pairs scored between the review and auto-link thresholds', tags: ['identity'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          status: { type: 'string', enum: ['open', 'approved', 'rejected', 'superseded'], default: 'open' }, member: memberCode,
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, after: { type: 'integer', minimum: 0 },
        },
      },
    },
  }, async (request) => {
    const principal = kit.principalOf(request);
    const member = kit.scopedMember(principal, request.query.member);
    const items = db.listReview({ status: request.query.status, member, limit: request.query.limit, after: request.query.after });
    const side = (r: RecordRef): Record<string, unknown> => (visible(principal, r.member) ? { ...r, golden: db.link(r)?.goldenId } : { member: r.member, contract: r.contract, hidden: true });
    const out = items.map((i) => ({ id: i.id, status: i.status, score: i.score, levels: i.levels, a: side(i.a), b: side(i.b), createdAt: i.createdAt, decidedAt: i.decidedAt, decidedBy: i.decidedBy }));
    const last = items[items.length - 1];
    return items.length === request.query.limit && last ? { items: out, next: last.id } : { items: out };
  });

  /** Member-scoped callers may act only on records of their own member. */
  const assertAllOwn = (principal: Principal, refs: { member: string }[]): void => {
    if (principal.member === null) return;
    if (refs.some((r) => r.member !== principal.member)) {
      throw kit.error('MEMBER_SCOPE', 403, `涉及其他成员的记录，需集团角色 / records of other members are involved: a group role is needed`);
    }
  };

  app.post<{ Params: { id: number }; Body: { decision: 'approve' | 'reject' } }>('/review/:id', {
    preHandler: kit.requirePermission('identity:manage'),
    schema: {
      summary: 'Decide a review item: approve links the two golden records, reject keeps them apart from now on', tags: ['identity'],
      params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } },
      body: { type: 'object', additionalProperties: false, required: ['decision'], properties: { decision: { type: 'string', enum: ['approve', 'reject'] } } },
    },
  }, async (request) => {
    const principal = kit.principalOf(request);
    const item = db.review(request.params.id);
    if (!item || !(visible(principal, item.a.member) || visible(principal, item.b.member))) throw notFound('复核项 / Review item');
    if (item.status !== 'open') throw kit.error('IDENTITY_REVIEW_CLOSED', 409, `复核项已处理（${item.status}）/ review item is already ${item.status}`);
    assertAllOwn(principal, [item.a, item.b]);
    return service.decideReview(item.id, request.body.decision, principal, principal.member ?? undefined);
  });

  app.post<{ Body: { goldenIds: string[] } }>('/merge', {
    preHandler: kit.requirePermission('identity:manage'),
    schema: {
      summary: 'Merge golden records into the first one (audited; later matches keep the decision)', tags: ['identity'],
      body: { type: 'object', additionalProperties: false, required: ['goldenIds'], properties: { goldenIds: { type: 'array', items: goldenIdSchema, minItems: 2, maxItems: 20, uniqueItems: true } } },
    },
  }, async (request) => {
    const principal = kit.principalOf(request);
    const all: LinkRow[] = [];
    for (const id of request.body.goldenIds) {
      const g = db.golden(id);
      const links = db.linksOf(id);
      if (!g || g.status !== 'active' || !links.some((l) => visible(principal, l.member))) throw notFound(`人员 / Person ${id}`);
      all.push(...links);
    }
    assertAllOwn(principal, all);
    const [target, ...others] = request.body.goldenIds;
    return service.merge(target!, others, principal, principal.member ?? undefined);
  });

  app.post<{ Body: { goldenId: string; records: RecordRef[] } }>('/unmerge', {
    preHandler: kit.requirePermission('identity:manage'),
    schema: {
      summary: 'Split records out of a golden record into a new one (audited; later matches keep them apart)', tags: ['identity'],
      body: {
        type: 'object', additionalProperties: false, required: ['goldenId', 'records'],
        properties: { goldenId: goldenIdSchema, records: { type: 'array', items: refSchema, minItems: 1, maxItems: 100 } },
      },
    },
  }, async (request) => {
    const principal = kit.principalOf(request);
    const { goldenId, records } = request.body;
    const links = db.linksOf(goldenId);
    if (!links.some((l) => visible(principal, l.member))) throw notFound('人员 / Person');
    assertAllOwn(principal, links);
    const linked = new Set(links.map((l) => `${l.member}\u0000${l.contract}\u0000${l.key}`));
    const missing = records.filter((r) => !linked.has(`${r.member}\u0000${r.contract}\u0000${r.key}`));
    if (missing.length > 0) throw kit.error('IDENTITY_RECORD_NOT_LINKED', 400, `记录不属于该人员 / records are not linked to ${goldenId}: ${missing.map((r) => `${r.member}/${r.contract}/${r.key}`).join(', ')}`);
    if (records.length >= links.length) throw kit.error('IDENTITY_UNMERGE_ALL', 400, '不能拆出全部记录 / at least one record must stay with the golden record');
    return service.unmerge(goldenId, records, principal, principal.member ?? undefined);
  });

  app.post('/match', {
    preHandler: kit.requirePermission('identity:manage'),
    schema: { summary: 'Run a full match now over every person, student and staff record (group roles only)', tags: ['identity'] },
  }, async (request) => {
    const principal = kit.principalOf(request);
    if (principal.member !== null) throw kit.error('MEMBER_SCOPE', 403, '全量匹配跨越所有成员，需集团角色 / a full match spans all members: a group role is needed');
    return service.matchAll(principal);
  });
}
