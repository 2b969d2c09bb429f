// The group configuration file (YAML), validated against core/config/group.schema.json before start.

export type MemberType = 'school' | 'college' | 'enterprise' | 'association' | 'government' | 'other';

export interface AdapterInstanceConfig {
  /** Instance name, unique within the member, e.g. `roster`. */
  name: string;
  /** Adapter type = folder name under adapters/ or package `vochub-adapter-<type>`. */
  type: string;
  /** Cron expression (croner) for scheduled imports; none = on demand only. */
  schedule?: string;
  /** Share of a member's records (0–1) a full run may deactivate before it stops (default 0.2). */
  maxDeactivateShare?: number;
  config: Record<string, unknown>;
}

export interface MemberConfig {
  /** 10-digit MOE 学校标识码 for schools, 18-character 统一社会信用代码 for enterprises. */
  code: string;
  name: string;
  nameEn?: string;
  type: MemberType;
  seats?: number;
  adapters: AdapterInstanceConfig[];
}

export interface HubConfig {
  bus: { transport: 'memory' | 'sqlite' | 'kafka'; [option: string]: unknown };
  store: { driver: 'sqlite' | 'postgres'; [option: string]: unknown };
  /** Shared Redis (dedupe keys, locks, rate limits, sessions) for several workers; absent = single process. */
  redis?: { url: string; keyPrefix?: string; [option: string]: unknown };
  /** Data folder (env VOCHUB_DATA wins), default ./var. */
  dataDir: string;
  port: number;
  host: string;
}

export interface PluginInstanceConfig {
  name: string;
  type: string;
  config: Record<string, unknown>;
}

export interface GroupConfig {
  group: { code: string; name: string; nameEn?: string };
  hub: HubConfig;
  members: MemberConfig[];
  plugins: PluginInstanceConfig[];
  /** Folder of the config file: relative paths in adapter config resolve against it. */
  baseDir: string;
  /** Path of the file it was read from. */
  file: string;
}
