// Report definitions are data: YAML/JSON files validated against definition.schema.json, with the
// rule names checked against what the target's builder implements. A bad file is a refusal at start.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { VochubError } from '../../../core/errors.ts';
import type { ReportDefinition } from './types.ts';
import { XUEJI_RULES } from './xueji.ts';
import { ZHUANGTAI_RULES } from './zhuangtai.ts';

export const BUILTIN_DEFINITIONS = join(import.meta.dirname, '..', 'definitions');
const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'definition.schema.json'), 'utf8')) as Record<string, unknown>;
const { $id: _id, ...schemaWithoutId } = schema;
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schemaWithoutId);
const KNOWN_RULES: Record<ReportDefinition['target'], readonly string[]> = { xueji: XUEJI_RULES, zhuangtai: ZHUANGTAI_RULES };

export function loadDefinitionFile(file: string): ReportDefinition {
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new VochubError('REPORT_DEFINITION_INVALID', `报表定义无法解析 / cannot parse report definition ${file}: ${(error as Error).message}`, { status: 500, details: { file } });
  }
  if (!validate(data)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? e.keyword}`).join('; ');
    throw new VochubError('REPORT_DEFINITION_INVALID', `报表定义无效 / invalid report definition ${file}: ${why}`, { status: 500, details: { file } });
  }
  const definition = data as ReportDefinition;
  const unknown = Object.keys(definition.rules).filter((r) => !KNOWN_RULES[definition.target].includes(r));
  if (unknown.length > 0) {
    throw new VochubError('REPORT_DEFINITION_INVALID', `报表定义含未知规则 / unknown rules in ${file}: ${unknown.join(', ')} (known: ${KNOWN_RULES[definition.target].join(', ')})`, { status: 500, details: { file } });
  }
  return { ...definition, file };
}

/** Built-in definitions plus those of an extra folder (later ones replace earlier ones of the same id). */
export function loadDefinitions(dirs: string[]): Map<string, ReportDefinition> {
  const out = new Map<string, ReportDefinition>();
  for (const dir of dirs) {
    if (!existsSync(dir)) throw new VochubError('REPORT_DEFINITION_INVALID', `报表定义目录不存在 / definitions folder not found: ${dir}`, { status: 500 });
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(ya?ml|json)$/.test(name)) continue;
      const definition = loadDefinitionFile(join(dir, name));
      out.set(definition.id, definition);
    }
  }
  return out;
}
