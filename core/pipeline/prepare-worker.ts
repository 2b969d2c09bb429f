// Clean + validate + protect of an import's batches on a second core. The SQLite write must stay on
// the thread that owns the connection, but preparing a batch is pure CPU and independent of the
// store, so a big import prepares batch k+1 in a worker thread while the main thread commits batch k
// and reads batch k+2. Small imports never pay the worker's start-up (~1 s: tsx, contracts, ajv):
// it starts only after `afterRecords` records, and until it is ready batches are prepared in-process.
// Whatever goes wrong with the worker (start-up, contracts that differ from the parent's, a crash),
// the batch is prepared in-process instead: the worker is an accelerator, never a dependency.
import { Worker } from 'node:worker_threads';
import type { ContractRegistry } from '../contracts/types.ts';
import type { Logger } from '../logger.ts';
import type { SourceRecord } from '../plugins/types.ts';
import { vaultSubKeys, type VaultSubKeys } from '../security/pii.ts';
import type { PiiVault } from '../security/types.ts';
import { prepareRecords, type PreparedRecords } from './process.ts';

export type PrepareWorkerMode = 'auto' | 'always' | 'never';

export interface PreparerOptions {
  /** 'auto' (default): a worker once `afterRecords` records were read; 'always': from the first batch; 'never'. */
  worker?: PrepareWorkerMode;
  /** Records prepared in-process before 'auto' starts the worker (default 5000). */
  afterRecords?: number;
}

export interface BatchPreparer {
  /** Prepares one batch; results come back in call order. Never rejects for a worker failure. */
  prepare(records: SourceRecord[]): Promise<PreparedRecords>;
  /** Whether batches are currently sent to the worker thread. */
  readonly threaded: boolean;
  close(): Promise<void>;
}

export type WorkerReply =
  | { type: 'ready'; contracts: string }
  | { type: 'prepared'; id: number; result: PreparedRecords }
  | { type: 'failed'; id: number; message: string };

/** What must be equal for the worker's registry to validate exactly like the parent's. */
export function contractFingerprint(contracts: ContractRegistry): string {
  return contracts
    .list()
    .map((c) => `${c.$id}|${c.file}|${JSON.stringify(c.pii)}`)
    .sort()
    .join('\n');
}

/** VOCHUB_PREPARE_WORKER=auto|always|never overrides the mode (operators, tests of the worker path). */
export function prepareWorkerModeFromEnv(env: NodeJS.ProcessEnv = process.env): PrepareWorkerMode | undefined {
  const v = env.VOCHUB_PREPARE_WORKER;
  return v === 'auto' || v === 'always' || v === 'never' ? v : undefined;
}

type Env = { contracts: ContractRegistry; vault: PiiVault };

class Preparer implements BatchPreparer {
  readonly #env: Env;
  readonly #log: Logger;
  readonly #mode: PrepareWorkerMode;
  readonly #afterRecords: number;
  #seen = 0;
  #state: 'idle' | 'starting' | 'ready' | 'off' = 'idle';
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, { records: SourceRecord[]; resolve: (r: PreparedRecords) => void }>();

  constructor(env: Env, log: Logger, options: PreparerOptions) {
    this.#env = env;
    this.#log = log;
    this.#mode = options.worker ?? 'auto';
    this.#afterRecords = Math.max(0, options.afterRecords ?? 5000);
    if (this.#mode === 'never') this.#state = 'off';
  }

  get threaded(): boolean {
    return this.#state === 'ready';
  }

  async prepare(records: SourceRecord[]): Promise<PreparedRecords> {
    if (this.#state === 'idle' && (this.#mode === 'always' || this.#seen >= this.#afterRecords)) this.#start();
    this.#seen += records.length;
    if (this.#state === 'starting' && this.#mode === 'always') await this.#ready;
    if (this.#state !== 'ready' || records.length === 0) return prepareRecords(this.#env, records);
    const id = this.#nextId++;
    return new Promise<PreparedRecords>((resolve) => {
      this.#pending.set(id, { records, resolve });
      this.#worker!.postMessage({ id, records });
    });
  }

  #start(): void {
    const keys: VaultSubKeys | undefined = vaultSubKeys(this.#env.vault);
    if (keys === undefined) {
      // Not our AES-GCM vault (a test double or an embedding): nothing to hand to a worker.
      this.#state = 'off';
      return;
    }
    this.#state = 'starting';
    let worker: Worker;
    try {
      worker = new Worker(new URL('./prepare-worker-entry.mjs', import.meta.url), {
        workerData: { keys },
        execArgv: [],
        // A small heap makes the worker collect its short-lived batches early instead of growing the
        // process's RSS (the import's peak RSS target is 500 MB). Its live set is the contracts and
        // code tables (~40 MB); running out only stops the worker: batches then run in-process.
        resourceLimits: { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 16 },
      });
    } catch (error) {
      this.#off(`worker did not start: ${(error as Error).message}`);
      return;
    }
    this.#worker = worker;
    this.#ready = new Promise<void>((resolve) => {
      const expected = contractFingerprint(this.#env.contracts);
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          if (reply.contracts === expected) {
            this.#state = 'ready';
            this.#log.debug('prepare worker ready');
          } else {
            // The parent's registry is not the repository's (another contracts dir): validate in-process.
            this.#off('the worker loaded other contracts than this hub');
          }
          resolve();
        } else if (reply.type === 'prepared') {
          const job = this.#pending.get(reply.id);
          this.#pending.delete(reply.id);
          job?.resolve(reply.result);
        } else if (reply.id < 0) {
          this.#off(`worker failed to start: ${reply.message}`);
          resolve();
        } else {
          // An unexpected error inside prepareRecords: redo that batch here, where it surfaces as it would without a worker.
          const job = this.#pending.get(reply.id);
          this.#pending.delete(reply.id);
          if (job) this.#inProcess(job);
        }
      });
      worker.on('error', (error) => {
        this.#off(`worker error: ${error.message}`);
        resolve();
      });
      worker.on('exit', () => {
        if (this.#state !== 'off') this.#off('worker exited');
        resolve();
      });
    });
  }

  #inProcess(job: { records: SourceRecord[]; resolve: (r: PreparedRecords) => void }): void {
    // A throw here is a bug in prepareRecords itself: the caller sees it exactly as without a worker.
    try {
      job.resolve(prepareRecords(this.#env, job.records));
    } catch (error) {
      job.resolve(Promise.reject(error) as never);
    }
  }

  /** Stops using the worker; batches it still held are prepared in-process, in their order. */
  #off(reason: string): void {
    const wasOn = this.#state !== 'off';
    this.#state = 'off';
    if (wasOn) this.#log.warn({ reason }, 'prepare worker off: preparing batches in-process');
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    const jobs = [...this.#pending.entries()].sort((a, b) => a[0] - b[0]);
    this.#pending.clear();
    for (const [, job] of jobs) this.#inProcess(job);
  }

  async close(): Promise<void> {
    this.#state = 'off';
    const worker = this.#worker;
    this.#worker = undefined;
    const jobs = [...this.#pending.values()];
    this.#pending.clear();
    for (const job of jobs) this.#inProcess(job);
    if (worker) await worker.terminate();
  }
}

export function createPreparer(env: Env, log: Logger, options: PreparerOptions = {}): BatchPreparer {
  return new Preparer(env, log, options);
}
