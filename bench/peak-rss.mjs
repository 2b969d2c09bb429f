// Preloaded (`node --import ./bench/peak-rss.mjs …`) into a process the benchmark runs as a child:
// at exit it writes the process's peak RSS (VmHWM), CPU time and, when asked, memory samples to the
// file named by VOCHUB_BENCH_REPORT. The child's own code is unchanged.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.VOCHUB_BENCH_REPORT;
if (out) {
  const samples = [];
  const every = Number(process.env.VOCHUB_BENCH_SAMPLE_MS ?? 0);
  if (every > 0) {
    const timer = setInterval(() => {
      const m = process.memoryUsage();
      samples.push({ t: Math.round(performance.now()), rss: m.rss >> 20, heapUsed: m.heapUsed >> 20, heapTotal: m.heapTotal >> 20, external: m.external >> 20, arrayBuffers: m.arrayBuffers >> 20 });
    }, every);
    timer.unref();
  }
  process.on('exit', () => {
    let vmHwmKiB = process.resourceUsage().maxRSS;
    try {
      const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) vmHwmKiB = Number(m[1]);
    } catch {
      // not Linux: the rusage maximum above
    }
    const cpu = process.cpuUsage();
    writeFileSync(out, JSON.stringify({ vmHwmKiB, cpuSeconds: (cpu.user + cpu.system) / 1e6, samples }));
  });
}
