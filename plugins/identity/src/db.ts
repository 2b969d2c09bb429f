// The plugin's own SQLite file (<dataDir>/identity.db): golden records, links, survivorship pointers,
// the review queue and operator decisions. It holds no clear PII: record references
// (member, contract, key), keyed hashes, scores, agreement levels and ids only.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

export interface RecordRef {
  member: string;
  contract: string;
  key: string;
}

export interface LinkRow extends RecordRef {
  goldenId: string;
  method: string;
  score: number | null;
  idHash: string | null;
  blockNb: string | null;
  blockPhone: string | null;
  sourceUpdated: string | null;
  linkedAt: string;
}

export interface ReviewRow {
  id: number;
  a: RecordRef;
  b: RecordRef;
  score: number;
  levels: Record<string, string>;
  status: 'open' | 'approved' | 'rejected' | 'superseded';
  createdAt: string;
  decidedAt?: string;
  decidedBy?: string;
}

export interface GoldenRow {
  id: string;
  status: 'active' | 'retired';
  createdAt: string;
  updatedAt: string;
  /** Set when retired by a merge: the golden record that took its records over. */
  mergedInto?: string;
}

export interface Decision {
  a: RecordRef;
  b: RecordRef;
  kind: 'link' | 'separate';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS goldens (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, merged_into TEXT);
-- Rowid tables with their unique keys as separate indexes: a full match drops the indexes, appends
-- every row and rebuilds them sorted, several times faster than maintaining them row by row.
CREATE TABLE IF NOT EXISTS links (
  member TEXT NOT NULL, contract TEXT NOT NULL, key TEXT NOT NULL, golden_id TEXT NOT NULL,
  method TEXT NOT NULL, score REAL, id_hash TEXT, block_nb TEXT, block_phone TEXT, source_updated TEXT, linked_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS survivors (
  golden_id TEXT NOT NULL, field TEXT NOT NULL, member TEXT NOT NULL, contract TEXT NOT NULL, key TEXT NOT NULL, rule TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS review (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  a_member TEXT NOT NULL, a_contract TEXT NOT NULL, a_key TEXT NOT NULL,
  b_member TEXT NOT NULL, b_contract TEXT NOT NULL, b_key TEXT NOT NULL,
  score REAL NOT NULL, levels TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, decided_at TEXT, decided_by TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS review_open_pair ON review (a_member, a_contract, a_key, b_member, b_contract, b_key) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS review_by_status ON review (status, id);
CREATE TABLE IF NOT EXISTS decisions (
  a_member TEXT NOT NULL, a_contract TEXT NOT NULL, a_key TEXT NOT NULL,
  b_member TEXT NOT NULL, b_contract TEXT NOT NULL, b_key TEXT NOT NULL,
  kind TEXT NOT NULL, source TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (a_member, a_contract, a_key, b_member, b_contract, b_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS links_pk ON links (member, contract, key);
CREATE INDEX IF NOT EXISTS links_by_golden ON links (golden_id);
CREATE INDEX IF NOT EXISTS links_by_id ON links (id_hash) WHERE id_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS links_by_nb ON links (block_nb) WHERE block_nb IS NOT NULL;
CREATE INDEX IF NOT EXISTS links_by_phone ON links (block_phone) WHERE block_phone IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS survivors_pk ON survivors (golden_id, field);
`;
const DROP_INDEXES = `
DROP INDEX IF EXISTS links_pk; DROP INDEX IF EXISTS links_by_golden; DROP INDEX IF EXISTS links_by_id;
DROP INDEX IF EXISTS links_by_nb; DROP INDEX IF EXISTS links_by_phone; DROP INDEX IF EXISTS survivors_pk;
`;

export function refKey(r: RecordRef): string {
  return `${r.member}\u0000${r.contract}\u0000${r.key}`;
}

/** Decision pairs are stored in one order so (a, b) and (b, a) are one row. */
function ordered(a: RecordRef, b: RecordRef): [RecordRef, RecordRef] {
  return refKey(a) <= refKey(b) ? [a, b] : [b, a];
}

export function newGoldenId(): string {
  return `g-${randomUUID()}`;
}

type Row = Record<string, unknown>;

function linkOf(r: Row): LinkRow {
  return {
    member: r.member as string, contract: r.contract as string, key: r.key as string, goldenId: r.golden_id as string,
    method: r.method as string, score: r.score as number | null, idHash: r.id_hash as string | null, blockNb: r.block_nb as string | null,
    blockPhone: r.block_phone as string | null, sourceUpdated: r.source_updated as string | null, linkedAt: r.linked_at as string,
  };
}

function reviewOf(r: Row): ReviewRow {
  return {
    id: r.id as number,
    a: { member: r.a_member as string, contract: r.a_contract as string, key: r.a_key as string },
    b: { member: r.b_member as string, contract: r.b_contract as string, key: r.b_key as string },
    score: r.score as number, levels: JSON.parse(r.levels as string) as Record<string, string>, status: r.status as ReviewRow['status'],
    createdAt: r.created_at as string, decidedAt: (r.decided_at as string | null) ?? undefined, decidedBy: (r.decided_by as string | null) ?? undefined,
  };
}

export class IdentityDb {
  readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    this.db.exec(SCHEMA);
    this.db.exec(INDEXES);
  }

  /** Full rebuild inside one transaction: drop the indexes, `fill` the tables, rebuild the indexes sorted. */
  rebuild(fill: () => void): void {
    this.tx(() => {
      this.db.exec(DROP_INDEXES);
      fill();
      this.db.exec(INDEXES);
    });
  }

  close(): void {
    this.db.close();
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  allLinks(): LinkRow[] {
    return (this.db.prepare('SELECT * FROM links').all() as Row[]).map(linkOf);
  }

  link(ref: RecordRef): LinkRow | undefined {
    const r = this.db.prepare('SELECT * FROM links WHERE member = ? AND contract = ? AND key = ?').get(ref.member, ref.contract, ref.key) as Row | undefined;
    return r ? linkOf(r) : undefined;
  }

  linksOf(goldenId: string): LinkRow[] {
    return (this.db.prepare('SELECT * FROM links WHERE golden_id = ? ORDER BY member, contract, key').all(goldenId) as Row[]).map(linkOf);
  }

  golden(id: string): GoldenRow | undefined {
    const r = this.db.prepare('SELECT * FROM goldens WHERE id = ?').get(id) as Row | undefined;
    return r ? { id: r.id as string, status: r.status as GoldenRow['status'], createdAt: r.created_at as string, updatedAt: r.updated_at as string, mergedInto: (r.merged_into as string | null) ?? undefined } : undefined;
  }

  /** Records sharing a keyed ID hash, a name/birth-date block hash or a phone block hash with the given ones. */
  candidates(hashes: { idHash?: string | null; blockNb?: string | null; blockPhone?: string | null }, limit = 200): LinkRow[] {
    const out = new Map<string, LinkRow>();
    const add = (sql: string, value: string | null | undefined): void => {
      if (!value) return;
      for (const r of this.db.prepare(`${sql} LIMIT ${limit}`).all(value) as Row[]) {
        const l = linkOf(r);
        out.set(refKey(l), l);
      }
    };
    add('SELECT * FROM links WHERE id_hash = ?', hashes.idHash);
    add('SELECT * FROM links WHERE block_nb = ?', hashes.blockNb);
    add('SELECT * FROM links WHERE block_phone = ?', hashes.blockPhone);
    return [...out.values()];
  }

  ensureGolden(id: string, at: string): void {
    this.db.prepare(`INSERT INTO goldens (id, status, created_at, updated_at) VALUES (?, 'active', ?, ?)
      ON CONFLICT (id) DO UPDATE SET status = 'active', updated_at = excluded.updated_at, merged_into = NULL`).run(id, at, at);
  }

  retireGolden(id: string, at: string, mergedInto?: string): void {
    this.db.prepare(`UPDATE goldens SET status = 'retired', updated_at = ?, merged_into = ? WHERE id = ?`).run(at, mergedInto ?? null, id);
    this.db.prepare('DELETE FROM survivors WHERE golden_id = ?').run(id);
  }

  /** Retires goldens that no longer hold any record. */
  retireEmpty(at: string): number {
    const r = this.db.prepare(`UPDATE goldens SET status = 'retired', updated_at = ? WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM links WHERE links.golden_id = goldens.id)`).run(at);
    this.db.prepare(`DELETE FROM survivors WHERE golden_id IN (SELECT id FROM goldens WHERE status = 'retired')`).run();
    return r.changes;
  }

  upsertLink(l: LinkRow): void {
    this.db.prepare(`INSERT INTO links (member, contract, key, golden_id, method, score, id_hash, block_nb, block_phone, source_updated, linked_at)
      VALUES (@member, @contract, @key, @goldenId, @method, @score, @idHash, @blockNb, @blockPhone, @sourceUpdated, @linkedAt)
      ON CONFLICT (member, contract, key) DO UPDATE SET golden_id = excluded.golden_id, method = excluded.method, score = excluded.score,
        id_hash = excluded.id_hash, block_nb = excluded.block_nb, block_phone = excluded.block_phone, source_updated = excluded.source_updated,
        linked_at = excluded.linked_at`).run({ ...l, score: Number.isFinite(l.score ?? 0) ? l.score : null });
  }

  removeLink(ref: RecordRef): void {
    this.db.prepare('DELETE FROM links WHERE member = ? AND contract = ? AND key = ?').run(ref.member, ref.contract, ref.key);
  }

  moveLinks(refs: RecordRef[], goldenId: string, method: string, at: string): void {
    const stmt = this.db.prepare('UPDATE links SET golden_id = ?, method = ?, score = NULL, linked_at = ? WHERE member = ? AND contract = ? AND key = ?');
    for (const r of refs) stmt.run(goldenId, method, at, r.member, r.contract, r.key);
  }

  /** Replaces every link at once (full match): one transaction, prepared statements. */
  replaceLinks(rows: Iterable<LinkRow>): void {
    this.db.prepare('DELETE FROM links').run();
    const stmt = this.db.prepare(`INSERT INTO links (member, contract, key, golden_id, method, score, id_hash, block_nb, block_phone, source_updated, linked_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const l of rows) {
      stmt.run(l.member, l.contract, l.key, l.goldenId, l.method, l.score !== null && Number.isFinite(l.score) ? l.score : null, l.idHash, l.blockNb, l.blockPhone, l.sourceUpdated, l.linkedAt);
    }
  }

  setSurvivors(goldenId: string, fields: Map<string, { ref: RecordRef; rule: string }>): void {
    this.db.prepare('DELETE FROM survivors WHERE golden_id = ?').run(goldenId);
    const stmt = this.db.prepare('INSERT INTO survivors (golden_id, field, member, contract, key, rule) VALUES (?, ?, ?, ?, ?, ?)');
    for (const [field, { ref, rule }] of fields) stmt.run(goldenId, field, ref.member, ref.contract, ref.key, rule);
  }

  clearSurvivors(): void {
    this.db.prepare('DELETE FROM survivors').run();
  }

  /** The goldens that have links, by a sorted pass instead of one probe per golden (full match). */
  retireUnlinked(at: string): void {
    this.db.exec(`CREATE TEMP TABLE IF NOT EXISTS linked_goldens (id TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM linked_goldens;
      INSERT OR IGNORE INTO linked_goldens SELECT golden_id FROM links;`);
    this.db.prepare(`UPDATE goldens SET status = 'retired', updated_at = ? WHERE status = 'active' AND id NOT IN (SELECT id FROM linked_goldens)`).run(at);
    this.db.exec('DELETE FROM linked_goldens');
  }

  insertSurvivors(rows: Iterable<[string, string, RecordRef, string]>): void {
    const stmt = this.db.prepare('INSERT INTO survivors (golden_id, field, member, contract, key, rule) VALUES (?, ?, ?, ?, ?, ?)');
    for (const [goldenId, field, ref, rule] of rows) stmt.run(goldenId, field, ref.member, ref.contract, ref.key, rule);
  }

  survivors(goldenId: string): { field: string; ref: RecordRef; rule: string }[] {
    return (this.db.prepare('SELECT * FROM survivors WHERE golden_id = ? ORDER BY field').all(goldenId) as Row[]).map((r) => ({
      field: r.field as string, ref: { member: r.member as string, contract: r.contract as string, key: r.key as string }, rule: r.rule as string,
    }));
  }

  // ---- review queue -------------------------------------------------------------------
  /** Opens review items; an open item for the same pair is kept (its id stays stable for operators). */
  openReview(items: { a: RecordRef; b: RecordRef; score: number; levels: Record<string, string> }[], at: string): number {
    const stmt = this.db.prepare(`INSERT INTO review (a_member, a_contract, a_key, b_member, b_contract, b_key, score, levels, status, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?) ON CONFLICT DO UPDATE SET score = excluded.score, levels = excluded.levels`);
    let n = 0;
    for (const item of items) {
      const [a, b] = ordered(item.a, item.b);
      stmt.run(a.member, a.contract, a.key, b.member, b.contract, b.key, item.score, JSON.stringify(item.levels), at);
      n++;
    }
    return n;
  }

  /** Open items not in `keep` become 'superseded' (a full match no longer proposes them). */
  supersedeReview(keep: Set<string>, at: string): void {
    const open = this.db.prepare(`SELECT * FROM review WHERE status = 'open'`).all() as Row[];
    const stmt = this.db.prepare(`UPDATE review SET status = 'superseded', decided_at = ? WHERE id = ?`);
    for (const r of open) {
      const item = reviewOf(r);
      if (!keep.has(`${refKey(item.a)}\u0001${refKey(item.b)}`)) stmt.run(at, item.id);
    }
  }

  static pairKey(a: RecordRef, b: RecordRef): string {
    const [x, y] = ordered(a, b);
    return `${refKey(x)}\u0001${refKey(y)}`;
  }

  listReview(query: { status?: string; member?: string; limit: number; after?: number }): ReviewRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.status) {
      where.push('status = ?');
      args.push(query.status);
    }
    if (query.member) {
      where.push('(a_member = ? OR b_member = ?)');
      args.push(query.member, query.member);
    }
    if (query.after !== undefined) {
      where.push('id > ?');
      args.push(query.after);
    }
    const sql = `SELECT * FROM review ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, query.limit) as Row[]).map(reviewOf);
  }

  review(id: number): ReviewRow | undefined {
    const r = this.db.prepare('SELECT * FROM review WHERE id = ?').get(id) as Row | undefined;
    return r ? reviewOf(r) : undefined;
  }

  decideReview(id: number, status: 'approved' | 'rejected', actor: string, at: string): void {
    this.db.prepare('UPDATE review SET status = ?, decided_at = ?, decided_by = ? WHERE id = ?').run(status, at, actor, id);
  }

  countReview(status: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM review WHERE status = ?').get(status) as { n: number }).n;
  }

  // ---- operator decisions --------------------------------------------------------------
  decide(a: RecordRef, b: RecordRef, kind: 'link' | 'separate', source: string, actor: string, at: string): void {
    const [x, y] = ordered(a, b);
    this.db.prepare(`INSERT INTO decisions (a_member, a_contract, a_key, b_member, b_contract, b_key, kind, source, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET kind = excluded.kind, source = excluded.source, actor = excluded.actor, at = excluded.at`)
      .run(x.member, x.contract, x.key, y.member, y.contract, y.key, kind, source, actor, at);
  }

  decisions(): Decision[] {
    return (this.db.prepare('SELECT * FROM decisions').all() as Row[]).map((r) => ({
      a: { member: r.a_member as string, contract: r.a_contract as string, key: r.a_key as string },
      b: { member: r.b_member as string, contract: r.b_contract as string, key: r.b_key as string },
      kind: r.kind as Decision['kind'],
    }));
  }

  separated(a: RecordRef, b: RecordRef): boolean {
    const [x, y] = ordered(a, b);
    const r = this.db.prepare(`SELECT kind FROM decisions WHERE a_member = ? AND a_contract = ? AND a_key = ? AND b_member = ? AND b_contract = ? AND b_key = ?`)
      .get(x.member, x.contract, x.key, y.member, y.contract, y.key) as { kind: string } | undefined;
    return r?.kind === 'separate';
  }

  counts(): { goldens: number; links: number; multiMember: number; openReview: number } {
    const goldens = (this.db.prepare(`SELECT count(*) AS n FROM goldens WHERE status = 'active'`).get() as { n: number }).n;
    const links = (this.db.prepare('SELECT count(*) AS n FROM links').get() as { n: number }).n;
    const multiMember = (this.db.prepare('SELECT count(*) AS n FROM (SELECT golden_id FROM links GROUP BY golden_id HAVING count(DISTINCT member) > 1)').get() as { n: number }).n;
    return { goldens, links, multiMember, openReview: this.countReview('open') };
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }
}
