// Plugin host contract. A plugin (adapter or hub capability) is a folder or package with a manifest
// (`vochub` block in package.json, or vochub.json) and an entry module whose default export is a
// `PluginFactory`. core/ never imports from adapters/ or plugins/: the host loads them by path.

import type { Problem } from '../errors.ts';
import type { ContractRegistry } from '../contracts/types.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Bus } from '../bus/types.ts';
import type { GroupConfig } from '../config/types.ts';
import type { Logger } from '../logger.ts';
import type { Permission, PiiVault, Principal } from '../security/types.ts';
import type { Store } from '../store/types.ts';

export interface PluginManifest {
  name: string;
  kind: 'adapter' | 'plugin';
  version: string;
  /** semver range of the core it needs, e.g. ">=0.1 <1". */
  core: string;
  /** Entry module relative to the plugin folder (e.g. "index.ts"). */
  main: string;
  /** JSON Schema (2020-12) of the plugin's config, path relative to the folder or inline. */
  configSchema: string | Record<string, unknown>;
  description?: string;
  /** Contracts it produces (adapters) and consumes (sinks). */
  produces?: string[];
  consumes?: string[];
  /** What it provides: routes prefix, schedules, authenticators. */
  provides?: {
    /** Route prefix under /api/v1, e.g. "/reports". */
    routes?: string;
    schedules?: boolean;
    authenticators?: string[];
    /** Module (relative to the plugin folder) exporting `registerCli(program, openHub)`: sub-commands of `vochub`. */
    cli?: string;
  };
}

/** A record read from a source, mapped to the canonical contract shape but not yet cleaned or validated. */
export interface SourceRecord {
  contract: string;
  /** Source key, unique within (member, contract). */
  key: string;
  op: 'upsert' | 'delete';
  data: Record<string, unknown>;
  aliases?: string[];
  /** Where it came from, for problems and provenance. */
  location?: { file?: string; line?: number; sheet?: string };
  /** Column name per contract field, so a validation error can name the source column. */
  columns?: Record<string, string>;
}

export interface SourceFileInfo {
  file: string;
  encoding?: string;
  rows?: number;
}

/** One batch from `read`. The host commits records, problems and the checkpoint in one transaction. */
export interface ReadBatch {
  records: SourceRecord[];
  problems: Problem[];
  /** Opaque JSON: where to resume after this batch. */
  checkpoint?: unknown;
  /** Files finished or opened in this batch. */
  sources?: SourceFileInfo[];
  /** Declares that the run delivered the complete set of `contract` records for the member (bulk/full mode):
   * records of that contract from this adapter not seen in the run are deactivated, guarded by the share limit. */
  complete?: string[];
}

export interface ReadOptions {
  /** The checkpoint committed after the last batch of an interrupted run (undefined: start over). */
  checkpoint?: unknown;
  mode: 'full' | 'delta';
  signal: AbortSignal;
}

export interface PluginContext<C = Record<string, unknown>> {
  /** Member code that owns this adapter instance (undefined for hub-wide plugins). */
  member?: string;
  /** Instance name from config, unique within the member. */
  instance: string;
  /** Validated config with secrets resolved. */
  config: C;
  /** Folder that relative paths in config are resolved against (the group config file's folder). */
  baseDir: string;
  /** Writable data folder for this instance. */
  dataDir: string;
  contracts: ContractRegistry;
  logger: Logger;
  /** Hub services, given to capability plugins (kind 'plugin') only: adapters stay pure readers/writers. */
  services?: HubServices;
}

/** What a capability plugin may use of the running hub. */
export interface HubServices {
  config: GroupConfig;
  store: Store;
  bus: Bus;
  vault: PiiVault;
  contracts: ContractRegistry;
  logger: Logger;
}

/** Helpers a plugin's routes use so they authorise exactly like the core API. */
export interface RouteKit {
  /** The authenticated caller (routes under /api/v1 are authenticated before the plugin sees them). */
  principalOf(request: FastifyRequest): Principal;
  /** preHandler that refuses callers without the permission (403 FORBIDDEN). */
  requirePermission(permission: Permission): (request: FastifyRequest) => Promise<void>;
  /** The member a request may act on: the caller's own for member roles (403 MEMBER_SCOPE on another), the asked one (or undefined = all) for group roles. */
  scopedMember(principal: Principal, asked: string | undefined): string | undefined;
  /** Writes an audit entry (actor from the principal). */
  audit(principal: Principal, action: string, entry: { member?: string; target?: string; detail?: Record<string, unknown> }): Promise<void>;
  /** A VochubError that the API renders as problem+json with this status. */
  error(code: string, status: number, detail: string): Error;
}

export interface HealthReport {
  ok: boolean;
  detail?: string;
}

export interface DiscoveredEntity {
  /** What the source offers, e.g. { name: 'Student.xml', contract: 'student', count: 960 }. */
  name: string;
  contract?: string;
  count?: number;
  detail?: string;
}

/** Lifecycle of a plugin instance. Every method but `init` is optional. */
export interface PluginInstance {
  init?(): Promise<void>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  health?(): Promise<HealthReport>;
  /** Test the connection / the files: resolves with a report, never throws for a bad source. */
  check?(): Promise<HealthReport>;
  discover?(): Promise<DiscoveredEntity[]>;
  /** Read the source in batches, resumable from a checkpoint. */
  read?(options: ReadOptions): AsyncIterable<ReadBatch>;
  /** Sinks: deliver records outbound. */
  write?(records: SourceRecord[]): Promise<{ problems: Problem[] }>;
  /** HTTP routes, registered as an encapsulated fastify plugin under /api/v1<manifest.provides.routes>. */
  routes?(app: FastifyInstance, kit: RouteKit): Promise<void>;
  /** PUBLIC HTTP routes at the server root, WITHOUT API-key authentication, registered as an encapsulated
   * child with no prefix (the plugin names its own paths, e.g. /.well-known/…, /cas/…). Only for protocol
   * endpoints that must be reachable by browsers and relying parties (SSO); everything else goes in `routes`. */
  publicRoutes?(app: FastifyInstance): Promise<void>;
}

export type PluginFactory<C = Record<string, unknown>> = (context: PluginContext<C>) => PluginInstance | Promise<PluginInstance>;
