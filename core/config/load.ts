// Reads the group configuration (YAML), applies env overrides and defaults, and validates it
// before anything starts. Every refusal names the file, line and column of the offending node.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { VochubError } from '../errors.ts';
import type { GroupConfig, HubConfig } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
/** `vochub start` with no file runs this demo group on the embedded default. */
export const DEMO_CONFIG = resolve(repoRoot, 'examples', 'demo', 'vochub.yaml');

const schema = JSON.parse(readFileSync(resolve(here, 'group.schema.json'), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validateGroup = ajv.compile(schema);

export interface ConfigIssue {
  path: string;
  line?: number;
  column?: number;
  message: string;
}

function locate(doc: Document, counter: LineCounter, pointer: string): { line?: number; column?: number } {
  const path = pointer.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~')));
  // Walk up until a node with a source range exists (missing properties point at their parent).
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const pos = counter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

export function loadGroupConfig(file: string, env: NodeJS.ProcessEnv = process.env): GroupConfig {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new VochubError('CONFIG_NOT_FOUND', `配置文件不存在 / configuration file not found: ${path}`, { status: 400 });
  }
  const text = readFileSync(path, 'utf8');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((e) => ({
      path: '',
      line: e.linePos?.[0]?.line,
      column: e.linePos?.[0]?.col,
      message: e.message.split('\n')[0] ?? e.message,
    }));
    throw configIssues(path, issues);
  }
  const raw = doc.toJS() as unknown;
  if (!validateGroup(raw)) {
    const issues = (validateGroup.errors ?? []).map((e) => {
      const pointer = e.keyword === 'required' || e.keyword === 'additionalProperties' ? e.instancePath : e.instancePath;
      const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
      return { path: e.instancePath.slice(1) || '(root)', ...locate(doc, counter, pointer), message: `${e.message ?? e.keyword}${extra}` };
    });
    throw configIssues(path, issues);
  }
  const parsed = raw as Omit<GroupConfig, 'hub' | 'baseDir' | 'file' | 'plugins'> & { hub?: Partial<HubConfig>; plugins?: GroupConfig['plugins'] };
  const baseDir = dirname(path);
  const issues: ConfigIssue[] = [];
  const memberCodes = new Set<string>();
  parsed.members.forEach((member, i) => {
    if (memberCodes.has(member.code)) issues.push({ path: `members/${i}/code`, ...locate(doc, counter, `/members/${i}/code`), message: `成员代码重复 / duplicate member code ${member.code}` });
    memberCodes.add(member.code);
    const names = new Set<string>();
    (member.adapters ?? []).forEach((adapter, j) => {
      if (names.has(adapter.name)) issues.push({ path: `members/${i}/adapters/${j}/name`, ...locate(doc, counter, `/members/${i}/adapters/${j}/name`), message: `适配器名称重复 / duplicate adapter name ${adapter.name}` });
      names.add(adapter.name);
    });
  });
  if (issues.length > 0) throw configIssues(path, issues);

  const hub = parsed.hub ?? {};
  const dataDir = resolve(env.VOCHUB_DATA ?? (hub.dataDir ? resolve(baseDir, hub.dataDir) : resolve(process.cwd(), 'var')));
  const port = env.PORT !== undefined && env.PORT !== '' ? Number(env.PORT) : hub.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VochubError('CONFIG_INVALID', `PORT 无效 / invalid PORT: ${env.PORT}`, { status: 400 });
  }
  return {
    group: parsed.group,
    members: parsed.members.map((m) => ({ ...m, adapters: (m.adapters ?? []).map((a) => ({ ...a, config: a.config ?? {} })) })),
    plugins: (parsed.plugins ?? []).map((p) => ({ ...p, config: p.config ?? {} })),
    hub: {
      bus: hub.bus ?? { transport: 'sqlite' },
      store: hub.store ?? { driver: 'sqlite' },
      ...(hub.redis ? { redis: hub.redis } : {}),
      dataDir,
      port,
      host: env.HOST ?? hub.host ?? '127.0.0.1',
    },
    baseDir,
    file: path,
  };
}

function configIssues(file: string, issues: ConfigIssue[]): VochubError {
  const lines = issues.map((i) => `  ${file}${i.line ? `:${i.line}:${i.column ?? 1}` : ''} ${i.path}: ${i.message}`);
  return new VochubError('CONFIG_INVALID', `配置无效 / invalid configuration:\n${lines.join('\n')}`, { status: 400, details: { file, issues } });
}

/** The file to use: explicit argument, then VOCHUB_CONFIG, then the demo group. */
export function resolveConfigPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.VOCHUB_CONFIG ?? DEMO_CONFIG);
}
