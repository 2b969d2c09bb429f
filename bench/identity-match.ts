// `npm run bench:identity`: identity resolution on a generated population with known duplicates and the
// usual damage (plugins/identity/testing/population.ts). Reports precision and recall of the automatic
// links, and the time to match against a raw floor measured in the same run on the same records: a plain
// hash-join on the keyed hash of the ID number (normalise, HMAC, group). Sizes: VOCHUB_BENCH_PERSONS
// (default 1000000 persons ≈ 1.5M records). See docs/identity.md and docs/performance.md.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../core/logger.ts';
import { loadContracts } from '../core/contracts/registry.ts';
import { loadVault } from '../core/security/pii.ts';
import { openSqliteStore } from '../core/store/sqlite.ts';
import { IdentityDb } from '../plugins/identity/src/db.ts';
import { matchRecords } from '../plugins/identity/src/engine.ts';
import { IdentityService, type LoadedRecord } from '../plugins/identity/src/service.ts';
import { DEFAULT_SURVIVORSHIP } from '../plugins/identity/src/survivorship.ts';
import { DEFAULT_THRESHOLDS } from '../plugins/identity/src/weights.ts';
import { generatePopulation, pairwiseQuality } from '../plugins/identity/testing/population.ts';
import { mib, peakRssKiB, secs, timed, type Timing } from './common.ts';

const persons = Number(process.env.VOCHUB_BENCH_PERSONS ?? 1_000_000);
const fmt = (t: Timing): string => `wall ${secs(t.wall)} cpu ${secs(t.cpu)}`;
const ratio = (floor: Timing, t: Timing): string => `wall ${(floor.wall / t.wall).toFixed(3)} cpu ${(floor.cpu / t.cpu).toFixed(3)}`;

console.log(`vochub bench identity — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const generated = await timed(() => generatePopulation({ persons, seed: 20240901 }));
const population = generated.result;
const records = population.records;
console.log(`population: ${persons.toLocaleString('en-US')} persons → ${records.length.toLocaleString('en-US')} records (generated in ${secs(generated.t.wall)}, not timed below)`);

const vault = loadVault({ masterKey: randomBytes(32) });

// Raw floor: what exact matching on the ID number alone costs — NFKC/upper-case the value, keyed hash, group by hash.
const floor = await timed(() => {
  const groups = new Map<string, number>();
  for (const r of records) {
    if (typeof r.idNumber !== 'string') continue;
    const h = vault.lookupHash('idNumber', r.idNumber.normalize('NFKC').replace(/\s+/g, '').toUpperCase());
    groups.set(h, (groups.get(h) ?? 0) + 1);
  }
  let pairs = 0;
  for (const n of groups.values()) pairs += (n * (n - 1)) / 2;
  return pairs;
});

const engine = await timed(() => matchRecords(records, { hashIdNumber: (id) => vault.lookupHash('idNumber', id) }));
const quality = pairwiseQuality(engine.result.cluster, population.person);
const floorQuality = (() => {
  // The floor's own answer (clusters by raw ID hash only), for comparison.
  const byHash = new Map<string, number>();
  const cluster = new Int32Array(records.length);
  records.forEach((r, i) => {
    if (typeof r.idNumber !== 'string') {
      cluster[i] = i;
      return;
    }
    const h = r.idNumber.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
    const first = byHash.get(h);
    if (first === undefined) byHash.set(h, i);
    cluster[i] = first ?? i;
  });
  return pairwiseQuality(cluster, population.person);
})();

// The plugin's full run on already-decrypted records: match + golden ids + survivorship + persist to identity.db.
const dir = mkdtempSync(join(tmpdir(), 'vochub-bench-identity-'));
const store = openSqliteStore({ file: join(dir, 'hub.db'), synchronous: 'normal' });
await store.migrate();
const db = new IdentityDb(join(dir, 'identity.db'));
const service = new IdentityService(db, { store, vault, contracts: loadContracts(), logger: silentLogger }, {
  contracts: ['person', 'student', 'staff'], thresholds: DEFAULT_THRESHOLDS, survivorship: DEFAULT_SURVIVORSHIP,
});
const loaded: LoadedRecord[] = records.map((r) => ({
  member: r.member, contract: r.contract, key: r.key, updatedAt: r.updatedAt ?? '', complete: 6,
  values: { name: r.name, birthDate: r.birthDate, idNumber: r.idNumber, phone: r.phone, sex: r.sex },
}));
const full = await timed(() => service.matchLoaded(loaded));
db.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

const s = engine.result.stats;
console.log(`floor  hash-join on keyed ID hash: ${fmt(floor.t)}  (${floor.result.toLocaleString('en-US')} pairs; precision ${floorQuality.precision.toFixed(4)} recall ${floorQuality.recall.toFixed(4)})`);
console.log(`engine exact + blocking + Fellegi–Sunter: ${fmt(engine.t)}  ratio ${ratio(floor.t, engine.t)}  phases ms ${JSON.stringify(engine.result.phases)}`);
console.log(`       links id=${s.idLinks} account=${s.accountLinks} probabilistic=${s.probabilisticLinks}; candidate pairs ${s.candidatePairs.toLocaleString('en-US')}; oversized blocks ${s.oversizedBlocks}; refused unions ${s.refusedUnions}; review ${engine.result.review.length.toLocaleString('en-US')}`);
console.log(`       precision ${quality.precision.toFixed(4)}  recall ${quality.recall.toFixed(4)}  (true pairs ${quality.truePairs.toLocaleString('en-US')}, predicted ${quality.predictedPairs.toLocaleString('en-US')}, correct ${quality.correctPairs.toLocaleString('en-US')})`);
console.log(`plugin match + golden ids + survivorship + persist (identity.db): ${fmt(full.t)}  ratio ${ratio(floor.t, full.t)}  (persist ${secs(full.result.ms.persist / 1000)})`);
console.log(`1M-person goal: matched in ${secs(full.t.wall)} wall — ${full.t.wall < 60 ? 'under' : 'OVER'} a minute; quality goal (≥ 0.98 both): ${quality.precision >= 0.98 && quality.recall >= 0.98 ? 'met' : 'NOT met'}`);
console.log(`peak RSS ${mib(peakRssKiB())}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
