// Prometheus metrics of one API instance. A registry per instance (not prom-client's global one) so
// several hubs in one process (tests) do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ImportRun, Store } from '../store/types.ts';

export interface ApiMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Feed every finished import run here (API-triggered runs are fed by the API; core/hub feeds scheduled ones). */
  observeImportRun(run: ImportRun): void;
}

export function createMetrics(store: Store): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: 'vochub_http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const imported = new Counter({
    name: 'vochub_records_imported_total',
    help: 'Records inserted or updated by import runs',
    labelNames: ['member', 'adapter', 'outcome'] as const,
    registers: [registry],
  });
  const runs = new Counter({
    name: 'vochub_import_runs_total',
    help: 'Finished import runs by status',
    labelNames: ['member', 'adapter', 'status'] as const,
    registers: [registry],
  });
  // Gauges read from the store at scrape time: correct whoever wrote the data (API, scheduler, CLI).
  new Gauge({
    name: 'vochub_records',
    help: 'Stored (not deleted) records per member and contract',
    labelNames: ['member', 'contract'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await store.stats()) this.set({ member: s.member, contract: s.contract }, s.records);
    },
  });
  new Gauge({
    name: 'vochub_problems',
    help: 'Recorded input problems per member and code',
    labelNames: ['member', 'code'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await store.problemStats()) this.set({ member: s.member, code: s.code }, s.problems);
    },
  });

  return {
    registry,
    httpDuration,
    observeImportRun(run) {
      runs.inc({ member: run.member, adapter: run.adapter, status: run.status });
      if (run.counts.inserted > 0) imported.inc({ member: run.member, adapter: run.adapter, outcome: 'inserted' }, run.counts.inserted);
      if (run.counts.updated > 0) imported.inc({ member: run.member, adapter: run.adapter, outcome: 'updated' }, run.counts.updated);
    },
  };
}
