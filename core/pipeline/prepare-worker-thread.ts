// Body of the prepare worker: opens the repository's contract registry and a vault from the parent's
// derived sub-keys, then answers `prepare` messages with prepareRecords' result, one at a time, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { loadContracts } from '../contracts/registry.ts';
import type { SourceRecord } from '../plugins/types.ts';
import { vaultFromSubKeys, type VaultSubKeys } from '../security/pii.ts';
import { contractFingerprint, type WorkerReply } from './prepare-worker.ts';
import { prepareRecords } from './process.ts';

const port = parentPort!;
const data = workerData as { keys: VaultSubKeys };
try {
  const contracts = loadContracts();
  const vault = vaultFromSubKeys(data.keys, 'option');
  port.postMessage({ type: 'ready', contracts: contractFingerprint(contracts) } satisfies WorkerReply);
  port.on('message', (message: { id: number; records: SourceRecord[] }) => {
    try {
      port.postMessage({ type: 'prepared', id: message.id, result: prepareRecords({ contracts, vault }, message.records) } satisfies WorkerReply);
    } catch (error) {
      port.postMessage({ type: 'failed', id: message.id, message: (error as Error).message } satisfies WorkerReply);
    }
  });
} catch (error) {
  port.postMessage({ type: 'failed', id: -1, message: (error as Error).message } satisfies WorkerReply);
}
