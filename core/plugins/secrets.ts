// Secrets in configuration are references only: `${env:NAME}` or `${file:path}`. A property that the
// plugin's config schema marks `"x-secret": true` (or that is named like a credential) and holds a
// literal is refused, so a secret never sits in a YAML file that gets committed or mailed around.
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { VochubError } from '../errors.ts';

const REFERENCE = /^\$\{(env|file):([^}]+)\}$/;
const CREDENTIAL_NAME = /^(password|passwd|secret|clientSecret|client_secret|token|apiKey|api_key|privateKey|bindPassword|credentials?)$/i;

export interface SecretContext {
  env: NodeJS.ProcessEnv;
  baseDir: string;
  /** Where this config sits in the group file, for messages: e.g. `members/1/adapters/0/config`. */
  path: string;
}

function isSecretSchema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as Record<string, unknown>)['x-secret'] === true;
}

function childSchema(schema: unknown, key: string | number): unknown {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Record<string, unknown>;
  if (typeof key === 'number') return s.items;
  const props = s.properties as Record<string, unknown> | undefined;
  return props?.[key] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
}

/** Returns a copy of `config` with every reference resolved; refuses inline secrets and missing references. */
export function resolveSecrets(config: unknown, schema: unknown, ctx: SecretContext): unknown {
  const walk = (value: unknown, sch: unknown, path: string, name: string | undefined): unknown => {
    if (typeof value === 'string') {
      const match = REFERENCE.exec(value.trim());
      if (match) return readReference(match[1] as 'env' | 'file', match[2]!.trim(), path, ctx);
      if ((isSecretSchema(sch) || (name !== undefined && CREDENTIAL_NAME.test(name))) && value !== '') {
        throw new VochubError(
          'CONFIG_INLINE_SECRET',
          `配置中不得直接写入密钥，请使用 \${env:NAME} 或 \${file:路径} / inline secret refused at ${path}: use \${env:NAME} or \${file:path}`,
          { status: 400, details: { path } },
        );
      }
      return value;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, childSchema(sch, i), `${path}/${i}`, undefined));
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, childSchema(sch, k), `${path}/${k}`, k);
      return out;
    }
    return value;
  };
  return walk(config, schema, ctx.path, undefined);
}

function readReference(kind: 'env' | 'file', name: string, path: string, ctx: SecretContext): string {
  if (kind === 'env') {
    const value = ctx.env[name];
    if (value === undefined || value === '') {
      throw new VochubError('CONFIG_SECRET_MISSING', `环境变量 ${name} 未设置 / environment variable ${name} is not set (${path})`, {
        status: 400,
        details: { path, env: name },
      });
    }
    return value;
  }
  const file = resolve(ctx.baseDir, name);
  if (!existsSync(file)) {
    throw new VochubError('CONFIG_SECRET_MISSING', `密钥文件不存在 / secret file not found: ${file} (${path})`, { status: 400, details: { path, file } });
  }
  // One trailing newline is an editor artefact, not part of the secret.
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}
