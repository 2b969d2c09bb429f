// Plugin host: discovers adapters and hub plugins, validates manifests and configs before anything
// starts, resolves secrets, and runs the lifecycle. core/ never imports adapters/ or plugins/ by name:
// it finds them on disk (built-in folders, installed `vochub-adapter-*` / `vochub-plugin-*` packages).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import semver from 'semver';
import { VochubError } from '../errors.ts';
import type { ContractRegistry } from '../contracts/types.ts';
import type { Logger } from '../logger.ts';
import { resolveSecrets } from './secrets.ts';
import type { HubServices, PluginContext, PluginFactory, PluginInstance, PluginManifest } from './types.ts';

export const CORE_VERSION = '0.1.0';

const manifestSchema = {
  type: 'object',
  required: ['name', 'kind', 'version', 'core', 'main', 'configSchema'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    kind: { enum: ['adapter', 'plugin'] },
    version: { type: 'string' },
    core: { type: 'string' },
    main: { type: 'string' },
    configSchema: { anyOf: [{ type: 'string' }, { type: 'object' }] },
    description: { type: 'string' },
    produces: { type: 'array', items: { type: 'string' } },
    consumes: { type: 'array', items: { type: 'string' } },
    provides: { type: 'object' },
  },
};

// Config schemas use our own annotation keywords; register them so strict mode does not reject them.
const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });
const validateManifest = ajv.compile(manifestSchema);

export interface DiscoveredPlugin {
  manifest: PluginManifest;
  /** Folder of the plugin. */
  dir: string;
  /** Where it was found: a built-in folder or an installed package. */
  origin: 'builtin' | 'package';
  configSchema: Record<string, unknown>;
  validateConfig: ValidateFunction;
}

function readManifest(dir: string): PluginManifest | undefined {
  const file = join(dir, 'vochub.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as PluginManifest;
  const pkgFile = join(dir, 'package.json');
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { vochub?: Partial<PluginManifest>; name?: string; version?: string; main?: string };
    if (pkg.vochub) {
      return { version: pkg.version ?? '0.0.0', main: pkg.main ?? 'index.js', ...pkg.vochub, name: pkg.vochub.name ?? String(pkg.name).replace(/^(@[^/]+\/)?vochub-(adapter|plugin)-/, '') } as PluginManifest;
    }
  }
  return undefined;
}

function loadPlugin(dir: string, origin: DiscoveredPlugin['origin']): DiscoveredPlugin | undefined {
  const manifest = readManifest(dir);
  if (!manifest) return undefined;
  if (!validateManifest(manifest)) {
    const why = (validateManifest.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`).join('; ');
    throw new VochubError('PLUGIN_MANIFEST_INVALID', `插件清单无效 / invalid plugin manifest in ${dir}: ${why}`, { status: 500, details: { dir } });
  }
  if (!semver.satisfies(CORE_VERSION, manifest.core, { includePrerelease: true })) {
    throw new VochubError(
      'PLUGIN_CORE_VERSION',
      `插件 ${manifest.name} 需要核心版本 ${manifest.core}，当前为 ${CORE_VERSION} / plugin ${manifest.name} needs core ${manifest.core}, this is ${CORE_VERSION}`,
      { status: 500, details: { dir } },
    );
  }
  const configSchema =
    typeof manifest.configSchema === 'string'
      ? (JSON.parse(readFileSync(join(dir, manifest.configSchema), 'utf8')) as Record<string, unknown>)
      : manifest.configSchema;
  const { $id: _ignored, ...schemaWithoutId } = configSchema;
  return { manifest, dir, origin, configSchema, validateConfig: ajv.compile(schemaWithoutId) };
}

function listDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((p) => statSync(p).isDirectory());
}

/** Finds built-in adapters/plugins under `roots` and installed packages under `nodeModules`. */
export function discoverPlugins(options: { roots: string[]; nodeModules?: string }): Map<string, DiscoveredPlugin> {
  const found = new Map<string, DiscoveredPlugin>();
  const add = (plugin: DiscoveredPlugin | undefined): void => {
    if (!plugin) return;
    const id = `${plugin.manifest.kind}:${plugin.manifest.name}`;
    // A built-in wins over a package of the same name: the folder in the repository is what was reviewed.
    if (!found.has(id)) found.set(id, plugin);
  };
  for (const root of options.roots) for (const dir of listDirs(root)) add(loadPlugin(dir, 'builtin'));
  if (options.nodeModules && existsSync(options.nodeModules)) {
    const candidates: string[] = [];
    for (const name of readdirSync(options.nodeModules)) {
      if (/^vochub-(adapter|plugin)-/.test(name)) candidates.push(join(options.nodeModules, name));
      if (name.startsWith('@')) {
        const scope = join(options.nodeModules, name);
        for (const inner of readdirSync(scope)) if (/^vochub-(adapter|plugin)-/.test(inner)) candidates.push(join(scope, inner));
      }
    }
    for (const dir of candidates) add(loadPlugin(dir, 'package'));
  }
  return found;
}

export interface InstanceSpec {
  kind: 'adapter' | 'plugin';
  type: string;
  instance: string;
  member?: string;
  config: Record<string, unknown>;
  /** Where the config sits in the group file, for messages. */
  path: string;
}

export interface LoadedInstance {
  spec: InstanceSpec;
  plugin: DiscoveredPlugin;
  instance: PluginInstance;
  context: PluginContext;
}

export interface HostOptions {
  plugins: Map<string, DiscoveredPlugin>;
  contracts: ContractRegistry;
  logger: Logger;
  baseDir: string;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** Given to capability plugins (kind 'plugin') only. */
  services?: HubServices;
}

/** Validates a config against the plugin's schema (defaults applied) and resolves its secrets. */
export function prepareConfig(plugin: DiscoveredPlugin, spec: InstanceSpec, options: Pick<HostOptions, 'baseDir' | 'env'>): Record<string, unknown> {
  const config = structuredClone(spec.config);
  if (!plugin.validateConfig(config)) {
    const issues = (plugin.validateConfig.errors ?? []).map((e) => {
      const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
      return `  ${spec.path}${e.instancePath}: ${e.message ?? e.keyword}${extra}`;
    });
    throw new VochubError('PLUGIN_CONFIG_INVALID', `${spec.kind} ${spec.type} (${spec.instance}) 配置无效 / invalid config:\n${issues.join('\n')}`, {
      status: 400,
      details: { path: spec.path, errors: plugin.validateConfig.errors },
    });
  }
  return resolveSecrets(config, plugin.configSchema, { env: options.env ?? process.env, baseDir: options.baseDir, path: spec.path }) as Record<string, unknown>;
}

/** Validates every instance up front (nothing starts if one is wrong), then imports and inits them. */
export async function loadInstances(specs: InstanceSpec[], options: HostOptions): Promise<LoadedInstance[]> {
  const prepared = specs.map((spec) => {
    const plugin = options.plugins.get(`${spec.kind}:${spec.type}`);
    if (!plugin) {
      const known = [...options.plugins.values()].filter((p) => p.manifest.kind === spec.kind).map((p) => p.manifest.name);
      throw new VochubError('PLUGIN_UNKNOWN', `未知的${spec.kind === 'adapter' ? '适配器' : '插件'}类型 ${spec.type} / unknown ${spec.kind} type "${spec.type}" at ${spec.path}; known: ${known.join(', ')}`, {
        status: 400,
        details: { path: spec.path },
      });
    }
    return { spec, plugin, config: prepareConfig(plugin, spec, options) };
  });
  const loaded: LoadedInstance[] = [];
  for (const { spec, plugin, config } of prepared) {
    const entry = resolve(plugin.dir, plugin.manifest.main);
    const mod = (await import(pathToFileURL(entry).href)) as { default?: PluginFactory };
    if (typeof mod.default !== 'function') {
      throw new VochubError('PLUGIN_ENTRY_INVALID', `插件入口必须默认导出工厂函数 / plugin entry must default-export a factory: ${entry}`, { status: 500 });
    }
    const dataDir = join(options.dataDir, 'plugins', spec.member ?? '_hub', spec.instance);
    mkdirSync(dataDir, { recursive: true });
    const context: PluginContext = {
      member: spec.member,
      instance: spec.instance,
      config,
      baseDir: options.baseDir,
      dataDir,
      contracts: options.contracts,
      logger: options.logger.child({ plugin: plugin.manifest.name, member: spec.member, instance: spec.instance }),
      services: spec.kind === 'plugin' ? options.services : undefined,
    };
    const instance = await mod.default(context);
    await instance.init?.();
    loaded.push({ spec, plugin, instance, context });
  }
  return loaded;
}

export async function startAll(instances: LoadedInstance[]): Promise<void> {
  for (const i of instances) await i.instance.start?.();
}

/** Stops in reverse order; one failing stop does not keep the others running. */
export async function stopAll(instances: LoadedInstance[], logger: Logger): Promise<void> {
  for (const i of [...instances].reverse()) {
    try {
      await i.instance.stop?.();
    } catch (error) {
      logger.warn({ err: error, instance: i.spec.instance }, 'plugin stop failed');
    }
  }
}
