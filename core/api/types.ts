// What the HTTP API needs from the running hub. core/hub.ts builds it; tests build it with real parts.
import type { Bus } from '../bus/types.ts';
import type { ContractRegistry } from '../contracts/types.ts';
import type { GroupConfig } from '../config/types.ts';
import type { Logger } from '../logger.ts';
import type { ImportRun, Store } from '../store/types.ts';
import type { PiiVault } from '../security/types.ts';
import type { PluginInstance } from '../plugins/types.ts';

/** A running capability plugin whose routes the API mounts under /api/v1<prefix>. */
export interface MountedPlugin {
  name: string;
  /** e.g. `/reports`; from the manifest's provides.routes, default `/plugins/<instance>`. */
  prefix: string;
  instance: PluginInstance;
}

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface HubContext {
  config: GroupConfig;
  store: Store;
  bus: Bus;
  contracts: ContractRegistry;
  vault: PiiVault;
  logger: Logger;
  imports: {
    /** Starts an import run for one adapter instance of a member; resolves when the run ends. */
    run(member: string, adapter: string, options?: { mode?: 'full' | 'delta'; onProgress?: (progress: { read: number; problems: number }) => void }): Promise<ImportRun>;
    /** Re-sends a problem's original record (optionally fixed) through the pipeline via `vochub.ingest`. */
    replayProblem(problemId: string, fixed?: Record<string, unknown>): Promise<void>;
  };
  ready(): Promise<{ ok: boolean; checks: Record<string, ReadinessCheck> }>;
  /** Capability plugins with routes (may be empty). */
  plugins?: MountedPlugin[];
}
