// Child process for the SIGKILL test: consumes until killed. argv: busFile sisFile
import { createSqliteBus } from '../../../../core/bus/index.ts';
import { gradeSink, openSis } from './grade-sink.ts';

const [busFile, sisFile] = process.argv.slice(2) as [string, string];
const bus = createSqliteBus({ file: busFile, maintenanceIntervalMs: 0 });
const sis = openSis(sisFile);
await bus.subscribe('grades.v1', 'hub-grade-sink', gradeSink(sis, 3), { maxBatch: 50 });
// The bus does not hold the event loop open by itself; a consumer process does.
setInterval(() => {}, 1000);
process.stdout.write('ready\n');
