import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createSqliteBus } from '../../../core/bus/index.ts';
import { runBusConformance } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'vochub-bus-conformance-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runBusConformance('sqlite', async () => createSqliteBus({ file: join(dir, `bus-${++n}.db`), maintenanceIntervalMs: 0, pollIntervalMs: 20 }));
