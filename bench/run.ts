// `npm run bench`: every benchmark of the foundation in one run, each figure as a ratio to a raw floor
// measured in the same run. Sizes: VOCHUB_BENCH_EVENTS (default 200000), VOCHUB_BENCH_ROWS (1000000).
// Generated inputs are cached in $VOCHUB_BENCH_DIR (default <tmp>/vochub-bench). See docs/performance.md.
import { cpus, loadavg, totalmem } from 'node:os';
import { runCsvBench } from './csv.ts';
import { runPipelineBench } from './pipeline.ts';
import { runRosterBench } from './roster-1m.ts';

const events = Number(process.env.VOCHUB_BENCH_EVENTS ?? 200_000);
const rows = Number(process.env.VOCHUB_BENCH_ROWS ?? 1_000_000);
const only = process.argv.slice(2);
const want = (name: string): boolean => only.length === 0 || only.includes(name);

console.log(`vochub bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('ratio = floor time / measured time (1.00 = as fast as the floor); wall and CPU both shown: on a shared machine CPU seconds are the steadier figure.');
if (want('pipeline')) await runPipelineBench(events);
if (want('csv')) await runCsvBench(rows);
if (want('roster')) await runRosterBench(rows);
console.log(`load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
