import { createMemoryBus } from '../../../core/bus/index.ts';
import { runBusConformance } from './conformance.ts';

runBusConformance('memory', async () => createMemoryBus({ maintenanceIntervalMs: 0 }));
