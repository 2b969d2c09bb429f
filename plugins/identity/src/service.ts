// Identity resolution inside the hub: loads person-like records from the store, decrypts them in
// memory, matches (engine.ts), keeps golden records, links, survivorship pointers and the review
// queue in the plugin's own SQLite file (db.ts), and applies operator decisions (merge, unmerge,
// review). Clear values exist only in this process's memory during a run or a request.
import { hash as sha256 } from 'node:crypto';
import type { ContractRegistry } from '../../../core/contracts/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { audit } from '../../../core/security/audit.ts';
import type { PiiVault } from '../../../core/security/types.ts';
import type { StoredRecord, Store } from '../../../core/store/types.ts';
import { IdentityDb, newGoldenId, refKey, type LinkRow, type RecordRef } from './db.ts';
import { matchRecords, type LinkMethod, type MatchResult } from './engine.ts';
import { featuresOf, firstChar, unorderedDate, type MatchInput, type PersonFeatures } from './features.ts';
import { survive, type SurvivorSource, type SurvivorshipRule } from './survivorship.ts';
import { Scorer, type MatchThresholds, type MatchWeights } from './weights.ts';

export const IDENTITY_AUDIT = {
  match: 'identity.match',
  merge: 'identity.merge',
  unmerge: 'identity.unmerge',
  review: 'identity.review',
  read: 'identity.read',
} as const;

export interface IdentitySettings {
  contracts: string[];
  thresholds: MatchThresholds;
  weights?: MatchWeights;
  survivorship: Record<string, SurvivorshipRule[]>;
}

export interface Actor {
  id: string;
  role?: string;
}

export interface MatchSummary {
  records: number;
  goldens: number;
  multiRecord: number;
  multiMember: number;
  links: { id: number; account: number; probabilistic: number; manual: number };
  review: number;
  candidatePairs: number;
  ms: { load: number; match: number; persist: number; total: number };
}

export interface LoadedRecord extends RecordRef {
  updatedAt: string;
  complete: number;
  /** Decrypted values of the matched and surviving fields (memory only). */
  values: Record<string, unknown>;
}

const MATCH_FIELDS = ['name', 'birthDate', 'idNumber', 'phone', 'sex', 'email', 'username', 'identifier'];

export class IdentityService {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly blockSecret: string;

  constructor(
    readonly db: IdentityDb,
    readonly deps: { store: Store; vault: PiiVault; contracts: ContractRegistry; logger: Logger },
    readonly settings: IdentitySettings,
  ) {
    // A secret derived from the vault's lookup key: block hashes are keyed, so a copy of identity.db
    // cannot be brute-forced back to birth dates or phone numbers without the master key.
    this.blockSecret = deps.vault.lookupHash('identity.block-secret', 'v1');
  }

  /** One operation at a time: a bus batch, a full match and an operator's merge never interleave. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  blockHash(tag: string, value: string): string {
    return sha256('sha256', `${this.blockSecret}\u0000${tag}\u0000${value}`, 'base64url').slice(0, 22);
  }

  hashes(f: PersonFeatures): { idHash: string | null; blockNb: string | null; blockPhone: string | null } {
    return {
      idHash: f.id18 !== undefined ? this.deps.vault.lookupHash('idNumber', f.id18) : null,
      blockNb: f.birth !== undefined && f.name !== undefined ? this.blockHash('nb', unorderedDate(f.birth) + firstChar(f.name)) : null,
      blockPhone: f.phone !== undefined ? this.blockHash('phone', f.phone) : null,
    };
  }

  toLoaded(member: string, contract: string, row: Pick<StoredRecord, 'key' | 'data' | 'pii' | 'updatedAt'>): LoadedRecord {
    const clear = this.deps.vault.reveal({ data: row.data, pii: row.pii });
    const values: Record<string, unknown> = {};
    let complete = 0;
    for (const [field, value] of Object.entries(clear)) {
      if (value === undefined || value === null || value === '') continue;
      complete++;
      if (MATCH_FIELDS.includes(field) || field in this.settings.survivorship) values[field] = value;
    }
    const modified = typeof clear.dateLastModified === 'string' ? clear.dateLastModified : undefined;
    return { member, contract, key: row.key, updatedAt: modified ?? row.updatedAt, complete, values };
  }

  async loadAll(): Promise<LoadedRecord[]> {
    const out: LoadedRecord[] = [];
    for (const contract of this.settings.contracts) {
      if (!this.deps.contracts.has(contract)) continue;
      let after: string | undefined;
      do {
        const page = await this.deps.store.listRecords({ contract, limit: 1000, after });
        for (const row of page.items) out.push(this.toLoaded(row.member, contract, row));
        after = page.next;
      } while (after !== undefined);
    }
    return out;
  }

  static inputOf(r: LoadedRecord): MatchInput {
    const v = r.values;
    return {
      member: r.member, contract: r.contract, key: r.key, updatedAt: r.updatedAt,
      name: v.name, birthDate: v.birthDate, idNumber: v.idNumber, phone: v.phone, sex: v.sex, email: v.email, username: v.username, identifier: v.identifier,
    };
  }

  /** Full match over every person-like record of the store. */
  matchAll(actor: Actor): Promise<MatchSummary> {
    return this.serial(async () => {
      const t0 = performance.now();
      const records = await this.loadAll();
      const t1 = performance.now();
      const summary = this.matchLoaded(records, t0, t1);
      await audit(this.deps.store, actor, IDENTITY_AUDIT.match, { target: 'identity', detail: { records: summary.records, goldens: summary.goldens, review: summary.review } });
      this.deps.logger.info({ ...summary.links, records: summary.records, goldens: summary.goldens, review: summary.review, ms: summary.ms }, 'identity match finished');
      return summary;
    });
  }

  /** Matches already-loaded records and persists the outcome (also used by the benchmark). */
  matchLoaded(records: LoadedRecord[], t0 = performance.now(), t1 = t0): MatchSummary {
    const index = new Map<string, number>();
    records.forEach((r, i) => index.set(refKey(r), i));
    const mustLink: [number, number][] = [];
    const cannotLink: [number, number][] = [];
    for (const d of this.db.decisions()) {
      const a = index.get(refKey(d.a));
      const b = index.get(refKey(d.b));
      if (a === undefined || b === undefined) continue;
      (d.kind === 'link' ? mustLink : cannotLink).push([a, b]);
    }
    const result = matchRecords(records.map(IdentityService.inputOf), {
      hashIdNumber: (id) => this.deps.vault.lookupHash('idNumber', id),
      thresholds: this.settings.thresholds,
      weights: this.settings.weights,
      mustLink,
      cannotLink,
    });
    const t2 = performance.now();
    const summary = this.persist(records, result);
    const t3 = performance.now();
    summary.ms = { load: Math.round(t1 - t0), match: Math.round(t2 - t1), persist: Math.round(t3 - t2), total: Math.round(t3 - t0) };
    return summary;
  }

  private persist(records: LoadedRecord[], result: MatchResult): MatchSummary {
    const at = new Date().toISOString();
    const existing = new Map<string, string>();
    for (const l of this.db.allLinks()) existing.set(refKey(l), l.goldenId);
    const clusters = new Map<number, number[]>();
    for (let i = 0; i < records.length; i++) {
      const c = result.cluster[i]!;
      const list = clusters.get(c);
      if (list) list.push(i);
      else clusters.set(c, [i]);
    }
    // Golden ids are stable: a cluster keeps the id most of its records had; an id goes to one cluster only.
    const claimed = new Set<string>();
    const goldenOf = new Int32Array(records.length);
    const goldenIds: string[] = [];
    let multiRecord = 0;
    let multiMember = 0;
    for (const members of clusters.values()) {
      const votes = new Map<string, number>();
      for (const i of members) {
        const g = existing.get(refKey(records[i]!));
        if (g !== undefined && !claimed.has(g)) votes.set(g, (votes.get(g) ?? 0) + 1);
      }
      let id: string | undefined;
      let best = 0;
      for (const [g, v] of votes) if (v > best || (v === best && id !== undefined && g < id)) [id, best] = [g, v];
      id ??= newGoldenId();
      claimed.add(id);
      const gi = goldenIds.push(id) - 1;
      for (const i of members) goldenOf[i] = gi;
      if (members.length > 1) {
        multiRecord++;
        if (new Set(members.map((i) => records[i]!.member)).size > 1) multiMember++;
      }
    }
    const counts = { id: 0, account: 0, probabilistic: 0, manual: 0 };
    this.db.rebuild(() => {
      const rows: LinkRow[] = new Array(records.length);
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const method: LinkMethod = result.method[i]!;
        if (method !== 'single') counts[method]++;
        const f = result.features[i]!;
        rows[i] = {
          member: r.member, contract: r.contract, key: r.key, goldenId: goldenIds[goldenOf[i]!]!, method, score: result.score[i]!,
          idHash: result.idHash[i] || null,
          blockNb: f.birth !== undefined && f.name !== undefined ? this.blockHash('nb', unorderedDate(f.birth) + firstChar(f.name)) : null,
          blockPhone: f.phone !== undefined ? this.blockHash('phone', f.phone) : null,
          sourceUpdated: r.updatedAt, linkedAt: at,
        };
      }
      this.db.replaceLinks(rows);
      const ensure = this.db.db.prepare(`INSERT INTO goldens (id, status, created_at, updated_at) VALUES (?, 'active', ?, ?)
        ON CONFLICT (id) DO UPDATE SET status = 'active', merged_into = NULL`);
      // In key order: appending to the b-tree instead of a random insert per golden record.
      for (const id of [...goldenIds].sort()) ensure.run(id, at, at);
      this.db.clearSurvivors();
      // Survivors only for goldens of several records: a single record is its own golden record.
      const survivorRows: [string, string, RecordRef, string][] = [];
      for (const [, members] of clusters) {
        if (members.length < 2) continue;
        const goldenId = goldenIds[goldenOf[members[0]!]!]!;
        for (const [field, pick] of survive(members.map((i) => ({ index: i, ...records[i]! })), this.settings.survivorship)) {
          survivorRows.push([goldenId, field, records[pick.index]!, pick.rule]);
        }
      }
      this.db.insertSurvivors(survivorRows);
      this.db.retireUnlinked(at);
      const keep = new Set<string>();
      const items = result.review.map((r) => {
        const a = records[r.a]!;
        const b = records[r.b]!;
        keep.add(IdentityDb.pairKey(a, b));
        return { a: { member: a.member, contract: a.contract, key: a.key }, b: { member: b.member, contract: b.contract, key: b.key }, score: round(r.score), levels: r.levels as Record<string, string> };
      });
      this.db.supersedeReview(keep, at);
      this.db.openReview(items, at);
    });
    return {
      records: records.length, goldens: clusters.size, multiRecord, multiMember, links: counts, review: result.review.length,
      candidatePairs: result.stats.candidatePairs, ms: { load: 0, match: 0, persist: 0, total: 0 },
    };
  }

  // ---- incremental ----------------------------------------------------------------------
  /** Applies one change from the bus: deletes unlink; a new or lonely record is attached to its best match. */
  async applyChange(ref: RecordRef, change: { deleted: boolean; record?: Pick<StoredRecord, 'key' | 'data' | 'pii' | 'updatedAt'> }): Promise<'unlinked' | 'linked' | 'review' | 'single' | 'kept'> {
    const at = new Date().toISOString();
    const current = this.db.link(ref);
    if (change.deleted || !change.record) {
      if (!current) return 'unlinked';
      this.db.tx(() => {
        this.db.removeLink(ref);
        this.db.retireEmpty(at);
      });
      await this.refreshSurvivors(current.goldenId);
      return 'unlinked';
    }
    const loaded = this.toLoaded(ref.member, ref.contract, change.record);
    const f = featuresOf(IdentityService.inputOf(loaded));
    const h = this.hashes(f);
    const companions = current ? this.db.linksOf(current.goldenId).filter((l) => refKey(l) !== refKey(ref)) : [];
    if (current && companions.length > 0) {
      // Already part of a person: keep the link, refresh its hashes; regrouping is the full match's job.
      this.db.upsertLink({ ...current, ...h, sourceUpdated: loaded.updatedAt });
      await this.refreshSurvivors(current.goldenId);
      return 'kept';
    }
    const scorer = new Scorer(this.settings.weights);
    let best: { link: LinkRow; score: number; levels: Record<string, string> } | undefined;
    for (const cand of this.db.candidates(h)) {
      if (refKey(cand) === refKey(ref) || this.db.separated(ref, cand)) continue;
      let score: number;
      const levels: Record<string, string> = {};
      if (h.idHash !== null && cand.idHash !== null) {
        if (h.idHash !== cand.idHash) continue;
        score = Infinity;
        levels.idNumber = 'exact';
      } else {
        const stored = await this.deps.store.getRecord(cand.member, cand.contract, cand.key);
        if (!stored || stored.deleted) continue;
        const other = featuresOf(IdentityService.inputOf(this.toLoaded(cand.member, cand.contract, stored)));
        score = scorer.compare(f, other, levels as never);
      }
      if (!best || score > best.score) best = { link: cand, score, levels };
    }
    const goldenId = current?.goldenId ?? newGoldenId();
    const outcome = this.db.tx((): 'linked' | 'review' | 'single' => {
      if (best && best.score >= this.settings.thresholds.autoLink) {
        this.db.upsertLink({ ...ref, goldenId: best.link.goldenId, method: best.score === Infinity ? 'id' : 'probabilistic', score: best.score, ...h, sourceUpdated: loaded.updatedAt, linkedAt: at });
        if (current && current.goldenId !== best.link.goldenId) this.db.retireGolden(current.goldenId, at, best.link.goldenId);
        return 'linked';
      }
      {
        this.db.ensureGolden(goldenId, at);
        this.db.upsertLink({ ...ref, goldenId, method: 'single', score: null, ...h, sourceUpdated: loaded.updatedAt, linkedAt: at });
        if (best && best.score >= this.settings.thresholds.review) {
          this.db.openReview([{ a: ref, b: best.link, score: round(best.score), levels: best.levels }], at);
          return 'review';
        }
        return 'single';
      }
    });
    if (outcome === 'linked') await this.refreshSurvivors(best!.link.goldenId);
    return outcome;
  }

  /** Re-reads a golden record's linked records and recomputes its survivorship pointers. */
  async refreshSurvivors(goldenId: string): Promise<void> {
    const links = this.db.linksOf(goldenId);
    if (links.length < 2) {
      this.db.setSurvivors(goldenId, new Map());
      return;
    }
    const sources: SurvivorSource[] = [];
    for (const [i, l] of links.entries()) {
      const stored = await this.deps.store.getRecord(l.member, l.contract, l.key);
      if (!stored) continue;
      sources.push({ index: i, ...this.toLoaded(l.member, l.contract, stored) });
    }
    const picks = survive(sources, this.settings.survivorship);
    const fields = new Map<string, { ref: RecordRef; rule: string }>();
    for (const [field, p] of picks) fields.set(field, { ref: links[p.index]!, rule: p.rule });
    this.db.setSurvivors(goldenId, fields);
  }

  // ---- operator decisions ----------------------------------------------------------------
  /** Moves every record of `others` into `target`; remembers the decision so later full matches keep it. */
  async merge(target: string, others: string[], actor: Actor, member?: string): Promise<{ goldenId: string; records: number }> {
    return this.serial(async () => {
      const at = new Date().toISOString();
      const targetLinks = this.db.linksOf(target);
      const anchor = targetLinks[0]!;
      let moved = 0;
      this.db.tx(() => {
        for (const other of others) {
          const links = this.db.linksOf(other);
          for (const l of links) this.db.decide(anchor, l, 'link', 'merge', actor.id, at);
          this.db.moveLinks(links, target, 'manual', at);
          this.db.retireGolden(other, at, target);
          moved += links.length;
        }
      });
      await this.refreshSurvivors(target);
      await audit(this.deps.store, actor, IDENTITY_AUDIT.merge, { member, target, detail: { goldenId: target, merged: others, records: moved } });
      return { goldenId: target, records: targetLinks.length + moved };
    });
  }

  /** Splits `records` out of a golden record into a new one; they are kept apart from the rest from now on. */
  async unmerge(goldenId: string, records: RecordRef[], actor: Actor, member?: string): Promise<{ goldenId: string; newGoldenId: string }> {
    return this.serial(async () => {
      const at = new Date().toISOString();
      const split = new Set(records.map(refKey));
      const links = this.db.linksOf(goldenId);
      const staying = links.filter((l) => !split.has(refKey(l)));
      const leaving = links.filter((l) => split.has(refKey(l)));
      const created = newGoldenId();
      this.db.tx(() => {
        this.db.ensureGolden(created, at);
        this.db.moveLinks(leaving, created, 'manual', at);
        for (const a of leaving) for (const b of staying) this.db.decide(a, b, 'separate', 'unmerge', actor.id, at);
        for (let i = 1; i < leaving.length; i++) this.db.decide(leaving[0]!, leaving[i]!, 'link', 'unmerge', actor.id, at);
      });
      await this.refreshSurvivors(goldenId);
      await this.refreshSurvivors(created);
      await audit(this.deps.store, actor, IDENTITY_AUDIT.unmerge, {
        member, target: goldenId,
        detail: { goldenId, newGoldenId: created, records: leaving.map((l) => ({ member: l.member, contract: l.contract, key: l.key })) },
      });
      return { goldenId, newGoldenId: created };
    });
  }

  /** Approve: the two records' golden records become one. Reject: they are kept apart from now on. */
  async decideReview(id: number, decision: 'approve' | 'reject', actor: Actor, member?: string): Promise<{ status: string; goldenId?: string }> {
    const item = this.db.review(id)!;
    const at = new Date().toISOString();
    if (decision === 'reject') {
      this.db.tx(() => {
        this.db.decide(item.a, item.b, 'separate', 'review', actor.id, at);
        this.db.decideReview(id, 'rejected', actor.id, at);
      });
      await audit(this.deps.store, actor, IDENTITY_AUDIT.review, { member, target: String(id), detail: { review: id, decision } });
      return { status: 'rejected' };
    }
    const a = this.db.link(item.a);
    const b = this.db.link(item.b);
    this.db.tx(() => {
      this.db.decide(item.a, item.b, 'link', 'review', actor.id, at);
      this.db.decideReview(id, 'approved', actor.id, at);
    });
    await audit(this.deps.store, actor, IDENTITY_AUDIT.review, { member, target: String(id), detail: { review: id, decision } });
    if (a && b && a.goldenId !== b.goldenId) {
      await this.merge(a.goldenId, [b.goldenId], actor, member);
      return { status: 'approved', goldenId: a.goldenId };
    }
    return { status: 'approved', goldenId: a?.goldenId };
  }
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}
