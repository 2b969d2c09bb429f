import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../../core/config/load.ts';
import { loadContracts } from '../../../core/contracts/registry.ts';
import { VochubError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/logger.ts';
import { discoverPlugins, loadInstances, prepareConfig, type InstanceSpec } from '../../../core/plugins/host.ts';
import { resolveSecrets } from '../../../core/plugins/secrets.ts';

const nodeModules = resolve(import.meta.dirname, '../../fixtures/plugins/node_modules');
const plugins = discoverPlugins({ roots: [resolve(repoRoot, 'adapters'), resolve(repoRoot, 'plugins')], nodeModules });
const echo = (config: Record<string, unknown>): InstanceSpec => ({ kind: 'adapter', type: 'echo', instance: 'echo', member: '4133010101', config, path: 'members/0/adapters/0/config' });

function refusal(fn: () => unknown): VochubError {
  try {
    fn();
  } catch (error) {
    if (error instanceof VochubError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('plugin host', () => {
  it('discovers the built-in adapters and installed vochub-adapter-* packages', () => {
    const names = [...plugins.values()].map((p) => `${p.origin}:${p.manifest.name}`);
    expect(names).toEqual(expect.arrayContaining(['builtin:roster-file', 'builtin:oneroster-csv', 'builtin:edfi-xml', 'package:echo']));
  });

  it('validates config before start and says where it is wrong', () => {
    const plugin = plugins.get('adapter:echo')!;
    const error = refusal(() => prepareConfig(plugin, echo({ records: -1, colour: 'red' }), { baseDir: '/', env: {} }));
    expect(error.code).toBe('PLUGIN_CONFIG_INVALID');
    expect(error.message).toContain('members/0/adapters/0/config/records');
    expect(error.message).toContain('colour');
  });

  it('applies schema defaults', () => {
    const config = prepareConfig(plugins.get('adapter:echo')!, echo({ records: 3 }), { baseDir: '/', env: {} });
    expect(config.batch).toBe(2);
  });

  it('resolves ${env:} and ${file:} secrets and refuses inline ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-secret-'));
    writeFileSync(join(dir, 'token.txt'), 's3cret-from-file\n');
    const plugin = plugins.get('adapter:echo')!;
    expect(prepareConfig(plugin, echo({ records: 1, token: '${env:ECHO_TOKEN}' }), { baseDir: dir, env: { ECHO_TOKEN: 'from-env' } }).token).toBe('from-env');
    expect(prepareConfig(plugin, echo({ records: 1, token: '${file:token.txt}' }), { baseDir: dir, env: {} }).token).toBe('s3cret-from-file');
    expect(refusal(() => prepareConfig(plugin, echo({ records: 1, token: 'inline' }), { baseDir: dir, env: {} })).code).toBe('CONFIG_INLINE_SECRET');
    expect(refusal(() => prepareConfig(plugin, echo({ records: 1, token: '${env:NOPE}' }), { baseDir: dir, env: {} })).code).toBe('CONFIG_SECRET_MISSING');
    expect(refusal(() => prepareConfig(plugin, echo({ records: 1, token: '${file:missing.txt}' }), { baseDir: dir, env: {} })).code).toBe('CONFIG_SECRET_MISSING');
  });

  it('refuses a credential-named field holding a literal even without x-secret', () => {
    const error = refusal(() => resolveSecrets({ ldap: { bindPassword: 'hunter2' } }, {}, { env: {}, baseDir: '/', path: 'x' }));
    expect(error.code).toBe('CONFIG_INLINE_SECRET');
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses an unknown adapter type, naming the known ones', async () => {
    const contracts = loadContracts();
    await expect(
      loadInstances([{ ...echo({}), type: 'nope' }], { plugins, contracts, logger: silentLogger, baseDir: '/', dataDir: mkdtempSync(join(tmpdir(), 'vochub-')) }),
    ).rejects.toMatchObject({ code: 'PLUGIN_UNKNOWN' });
  });

  it('loads and runs an installed adapter package through its lifecycle, resumable from a checkpoint', async () => {
    const contracts = loadContracts();
    const [loaded] = await loadInstances([echo({ records: 5, token: '${env:ECHO_TOKEN}' })], {
      plugins,
      contracts,
      logger: silentLogger,
      baseDir: '/',
      dataDir: mkdtempSync(join(tmpdir(), 'vochub-')),
      env: { ECHO_TOKEN: 't' },
    });
    expect(await loaded!.instance.check!()).toEqual({ ok: true, detail: 'token set' });
    const keys: string[] = [];
    for await (const batch of loaded!.instance.read!({ mode: 'full', checkpoint: 2, signal: new AbortController().signal })) keys.push(...batch.records.map((r) => r.key));
    expect(keys).toEqual(['org-2', 'org-3', 'org-4']);
  });
});
