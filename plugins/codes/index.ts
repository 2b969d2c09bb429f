// Code registry plugin: the national tables (repository), the operator's 专业目录 and member
// crosswalks, behind /api/v1/codes and `vochub codes`. The data and lookups live in
// core/contracts/code-registry.ts; this folder is the API, the CLI and the configured seed files.
import { readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openCodeRegistry, type CodeRegistry } from '../../core/contracts/code-registry.ts';
import { EffectiveDatedTable } from '../../core/contracts/code-tables.ts';
import { VochubError } from '../../core/errors.ts';
import type { PluginFactory, RouteKit } from '../../core/plugins/types.ts';

export interface CodesConfig {
  catalogues?: string[];
  crosswalks?: string[];
}

const ISO_DATE = '^\\d{4}-\\d{2}-\\d{2}$';
const tableName = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$' } as const;

/** Applies the files named in the config (kept in memory, re-applied on reloads). Returns the bad rows found. */
export function seedFromConfig(registry: CodeRegistry, config: CodesConfig, baseDir: string): { file: string; problems: number }[] {
  const out: { file: string; problems: number }[] = [];
  const path = (f: string) => (isAbsolute(f) ? f : resolve(baseDir, f));
  for (const f of config.catalogues ?? []) {
    const r = registry.seed('catalogue', readFileSync(path(f), 'utf8'), basename(f));
    if (r) out.push({ file: f, problems: r.problems.length });
  }
  for (const f of config.crosswalks ?? []) {
    const format = f.endsWith('.jsonl') ? 'jsonl' : 'csv';
    const r = registry.seed('crosswalk', readFileSync(path(f), 'utf8'), basename(f).replace(/\.(csv|jsonl)$/, '').replace(/[^A-Za-z0-9._-]/g, '_'), format);
    if (r) out.push({ file: f, problems: r.problems.length });
  }
  return out;
}

export function tableDetail(registry: CodeRegistry, name: string, query: { at?: string; q?: string; limit?: number }) {
  const info = registry.list().find((t) => t.name === name);
  if (!info) throw new VochubError('CODE_TABLE_UNKNOWN_TABLE', `代码表不存在 / unknown code table ${name}`, { status: 404 });
  return { ...info, at: query.at ?? null, entries: registry.query(name, query) };
}

async function routes(app: FastifyInstance, kit: RouteKit, registry: CodeRegistry): Promise<void> {
  // National codes are public; member crosswalks map codes, not people. Any reader may look them up.
  const read = kit.requirePermission('records:read');
  const manage = kit.requirePermission('codes:manage');

  app.get('/tables', { preHandler: read, schema: { summary: '代码表清单（版本、条目数）/ code tables with versions and sizes', tags: ['codes'] } }, async () => {
    registry.reload();
    return { items: registry.list() };
  });

  app.get<{ Params: { name: string }; Querystring: { at?: string; q?: string; limit: number } }>('/tables/:name', {
    preHandler: read,
    schema: {
      summary: '查询代码表：某日有效的代码，按代码前缀或名称过滤 / entries valid on a date, filtered by code prefix or label', tags: ['codes'],
      params: { type: 'object', properties: { name: tableName } },
      querystring: { type: 'object', additionalProperties: false, properties: { at: { type: 'string', pattern: ISO_DATE }, q: { type: 'string', maxLength: 64 }, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 200 } } },
    },
  }, async (request) => tableDetail(registry, request.params.name, request.query));

  app.get<{ Params: { name: string; code: string } }>('/tables/:name/codes/:code', {
    preHandler: read,
    schema: { summary: '一个代码的全部历史（启用、更名、撤销、后继代码）/ the history of one code', tags: ['codes'], params: { type: 'object', properties: { name: tableName, code: { type: 'string', maxLength: 32 } } } },
  }, async (request) => {
    const table = registry.table(request.params.name);
    const history = table instanceof EffectiveDatedTable ? table.history(request.params.code) : [table.get(request.params.code)].filter((e) => e !== undefined);
    if (history.length === 0) throw kit.error('NOT_FOUND', 404, `代码不存在 / code ${request.params.code} is not in ${request.params.name}`);
    return { table: table.name, code: request.params.code, current: table.has(request.params.code), history };
  });

  app.get<{ Params: { name: string }; Querystring: { from: string; to: string } }>('/tables/:name/diff', {
    preHandler: read,
    schema: {
      summary: '两个日期之间的变化：新增、撤销（含后继代码）、更名 / changes between two dates', tags: ['codes'],
      params: { type: 'object', properties: { name: tableName } },
      querystring: { type: 'object', additionalProperties: false, required: ['from', 'to'], properties: { from: { type: 'string', pattern: ISO_DATE }, to: { type: 'string', pattern: ISO_DATE } } },
    },
  }, async (request) => registry.diff(request.params.name, request.query.from, request.query.to));

  app.get<{ Querystring: { label: string; at?: string } }>('/tables/:name/lookup', {
    preHandler: read,
    schema: {
      summary: '名称 → 代码 / label to code', tags: ['codes'], params: { type: 'object', properties: { name: tableName } },
      querystring: { type: 'object', additionalProperties: false, required: ['label'], properties: { label: { type: 'string', minLength: 1, maxLength: 100 }, at: { type: 'string', pattern: ISO_DATE } } },
    },
  }, async (request) => {
    const { name } = request.params as { name: string };
    const code = registry.codeOf(name, request.query.label, request.query.at);
    if (code === undefined) throw kit.error('NOT_FOUND', 404, `名称不在代码表中或不唯一 / label not in ${name} (or ambiguous)`);
    return { table: name, label: request.query.label, code, entry: registry.table(name).get(code) };
  });

  app.get('/crosswalks', { preHandler: read, schema: { summary: '对照表清单 / crosswalk sets', tags: ['codes'] } }, async () => ({ items: registry.crosswalkSets() }));

  app.get<{ Querystring: { namespace: string; value: string; mappedNamespace?: string } }>('/crosswalks/lookup', {
    preHandler: read,
    schema: {
      summary: '对照：(namespace, value) → (mappedNamespace, mappedValue)', tags: ['codes'],
      querystring: { type: 'object', additionalProperties: false, required: ['namespace', 'value'], properties: { namespace: { type: 'string', maxLength: 300 }, value: { type: 'string', maxLength: 300 }, mappedNamespace: { type: 'string', maxLength: 300 } } },
    },
  }, async (request) => ({ items: registry.crosswalk(request.query.namespace, request.query.value, request.query.mappedNamespace) }));

  app.get<{ Params: { set: string } }>('/crosswalks/:set', {
    preHandler: read, schema: { summary: '一个对照表的全部条目 / entries of one crosswalk set', tags: ['codes'], params: { type: 'object', properties: { set: { type: 'string', maxLength: 100 } } } },
  }, async (request) => ({ set: request.params.set, items: registry.crosswalkEntries(request.params.set) }));

  const fileBody = {
    type: 'object', additionalProperties: false, required: ['name', 'content'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, content: { type: 'string', minLength: 1, maxLength: 8_000_000 }, format: { type: 'string', enum: ['csv', 'jsonl'] } },
  } as const;

  app.post<{ Body: { name: string; content: string } }>('/catalogue', {
    preHandler: manage, bodyLimit: 10_000_000,
    schema: { summary: '加载专业目录文件（基础版或年度增补）/ load a catalogue file (base edition or yearly addition)', tags: ['codes'], body: fileBody },
  }, async (request, reply) => {
    const result = registry.loadCatalogue(request.body.content, request.body.name);
    await kit.audit(kit.principalOf(request), 'codes.load', { target: `catalogue:${result.file}`, detail: { rows: result.rows, loaded: result.loaded, problems: result.problems.length } });
    return reply.code(result.loaded > 0 ? 201 : 422).send(result);
  });

  app.post<{ Body: { name: string; content: string; format?: 'csv' | 'jsonl' } }>('/crosswalks', {
    preHandler: manage, bodyLimit: 10_000_000,
    schema: { summary: '加载（替换）一个对照表 / load (replace) a crosswalk set', tags: ['codes'], body: fileBody },
  }, async (request, reply) => {
    const result = registry.loadCrosswalk(request.body.content, request.body.name, request.body.format ?? 'csv');
    await kit.audit(kit.principalOf(request), 'codes.load', { target: `crosswalk:${request.body.name}`, detail: { rows: result.rows, loaded: result.loaded, problems: result.problems.length } });
    return reply.code(result.loaded > 0 ? 201 : 422).send(result);
  });
}

const factory: PluginFactory<CodesConfig> = (context) => {
  const services = context.services;
  if (!services) throw new VochubError('PLUGIN_SERVICES_MISSING', 'codes 插件需要枢纽服务 / the codes plugin needs hub services');
  const registry = openCodeRegistry(services.config.hub.dataDir);
  const seeded = seedFromConfig(registry, context.config, context.baseDir);
  for (const s of seeded) if (s.problems > 0) context.logger.warn({ file: s.file, problems: s.problems }, 'code file has rows that were not loaded');
  return {
    async init() {},
    async health() {
      const catalogue = registry.list().find((t) => t.kind === 'catalogue');
      return { ok: true, detail: `${registry.list().length} tables; catalogue: ${catalogue?.current ?? 0} codes` };
    },
    routes: (app, kit) => routes(app, kit, registry),
  };
};

export default factory;
