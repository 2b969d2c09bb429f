// The batch matcher: in-memory, over decrypted values, in four passes:
//   1. manual decisions (merge / approved review items) link first, rejected ones forbid a link;
//   2. exact: equal keyed hash of the normalised 18-digit ID number → same person;
//   3. account: same member, same username + identifier + email (OneRoster multi-role users, case C19);
//   4. probabilistic: blocking on (unordered birth date + first or last name character), phone, email and
//      (name + birth year); each candidate pair gets a Fellegi–Sunter score; ≥ autoLink links, ≥ review queues.
// Links are applied as a union-find in descending score, refusing any union that would put two different
// valid ID numbers, or a rejected pair, into one person: one wrong link cannot chain two people together.
import { featuresOf, firstChar, lastChar, nameChars, unorderedDate, type MatchInput, type PersonFeatures } from './features.ts';
import { DEFAULT_THRESHOLDS, Scorer, type ComparisonLevels, type MatchThresholds, type MatchWeights } from './weights.ts';

export type LinkMethod = 'manual' | 'id' | 'account' | 'probabilistic' | 'single';

export interface MatchOptions {
  /** Keyed hash of the normalised ID number (vault.lookupHash('idNumber', id18)). */
  hashIdNumber: (id18: string) => string;
  weights?: MatchWeights;
  thresholds?: MatchThresholds;
  /** Record index pairs an operator linked (merge, approved review). */
  mustLink?: [number, number][];
  /** Record index pairs an operator separated (unmerge, rejected review). */
  cannotLink?: [number, number][];
  /** Blocks larger than this are not paired (placeholder phones such as 13800000000 shared by thousands). */
  maxBlock?: number;
  /** Date ID numbers are checked against (default today). */
  at?: string;
}

export interface ReviewCandidate {
  a: number;
  b: number;
  score: number;
  levels: ComparisonLevels;
}

export interface MatchResult {
  features: PersonFeatures[];
  /** Keyed ID hash per record ('' when the record has no valid ID number). */
  idHash: string[];
  /** Cluster representative (a record index) per record. */
  cluster: Int32Array;
  /** How each record came to its cluster (the strongest link that joined it). */
  method: LinkMethod[];
  score: Float64Array;
  review: ReviewCandidate[];
  /** Milliseconds per phase (features, exact, blockKeys, blockSort, pairs, links). */
  phases: Record<string, number>;
  stats: {
    records: number;
    clusters: number;
    idLinks: number;
    accountLinks: number;
    probabilisticLinks: number;
    candidatePairs: number;
    oversizedBlocks: number;
    refusedUnions: number;
  };
}

/** 32-bit FNV-1a over a tag and up to two strings (no concatenation: blocking runs millions of times). */
function fnv1a(tag: number, s: string, t = ''): number {
  let h = Math.imul(0x811c9dc5 ^ tag, 0x01000193);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= 0x1f;
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < t.length; i++) {
    h ^= t.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function same4(a: string, b: string): boolean {
  return a.charCodeAt(0) === b.charCodeAt(0) && a.charCodeAt(1) === b.charCodeAt(1) && a.charCodeAt(2) === b.charCodeAt(2) && a.charCodeAt(3) === b.charCodeAt(3);
}

class Clusters {
  readonly parent: Int32Array;
  readonly size: Int32Array;
  /** Per root: the valid ID hash its records carry ('' none). */
  readonly rootId: string[];
  /** Per root: records in it that carry cannot-link constraints. */
  readonly restricted = new Map<number, number[]>();
  refused = 0;

  constructor(n: number, idHash: string[], private readonly cannot: Map<number, number[]>) {
    this.parent = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
    this.rootId = idHash.slice();
    for (const x of cannot.keys()) this.restricted.set(x, [x]);
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]!]!;
      x = p[x]!;
    }
    return x;
  }

  /** Joins the clusters of a and b unless that would join two different ID numbers or a separated pair. */
  union(a: number, b: number, force = false): boolean {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return true;
    if (!force) {
      const ia = this.rootId[ra]!;
      const ib = this.rootId[rb]!;
      if (ia !== '' && ib !== '' && ia !== ib) {
        this.refused++;
        return false;
      }
      if (this.separated(ra, rb)) {
        this.refused++;
        return false;
      }
    }
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
    if (this.rootId[ra] === '') this.rootId[ra] = this.rootId[rb]!;
    const rest = this.restricted.get(rb);
    if (rest) {
      const into = this.restricted.get(ra);
      if (into) into.push(...rest);
      else this.restricted.set(ra, rest);
      this.restricted.delete(rb);
    }
    return true;
  }

  private separated(ra: number, rb: number): boolean {
    const xa = this.restricted.get(ra);
    if (!xa) return false;
    if (!this.restricted.has(rb)) return false;
    for (const x of xa) for (const y of this.cannot.get(x)!) if (this.find(y) === rb) return true;
    return false;
  }
}

export function matchRecords(inputs: MatchInput[], options: MatchOptions): MatchResult {
  const n = inputs.length;
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const maxBlock = options.maxBlock ?? 100;
  const scorer = new Scorer(options.weights);
  const phases: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round(now - clock);
    clock = now;
  };

  const features: PersonFeatures[] = new Array(n);
  const idHash: string[] = new Array(n);
  const nameCounts = new Map<string, number>();
  let named = 0;
  for (let i = 0; i < n; i++) {
    const f = featuresOf(inputs[i]!, options.at);
    features[i] = f;
    idHash[i] = f.id18 !== undefined ? options.hashIdNumber(f.id18) : '';
    if (f.name !== undefined) {
      nameCounts.set(f.name, (nameCounts.get(f.name) ?? 0) + 1);
      named++;
    }
  }
  scorer.useNameFrequencies(nameCounts, named);
  lap('features');

  const cannot = new Map<number, number[]>();
  const addCannot = (a: number, b: number): void => {
    let l = cannot.get(a);
    if (!l) cannot.set(a, (l = []));
    l.push(b);
  };
  for (const [a, b] of options.cannotLink ?? []) {
    addCannot(a, b);
    addCannot(b, a);
  }
  const clusters = new Clusters(n, idHash, cannot);
  const method: LinkMethod[] = new Array<LinkMethod>(n).fill('single');
  const score = new Float64Array(n);
  const mark = (a: number, b: number, how: LinkMethod, s: number): void => {
    // The record that joined keeps the method of its strongest link; the first record of a cluster too.
    if (method[a] === 'single' || s > score[a]!) {
      method[a] = how;
      score[a] = s;
    }
    if (method[b] === 'single' || s > score[b]!) {
      method[b] = how;
      score[b] = s;
    }
  };

  // 1. Operator decisions.
  for (const [a, b] of options.mustLink ?? []) if (clusters.union(a, b, true)) mark(a, b, 'manual', Infinity);

  // 2. Exact on the keyed ID hash.
  let idLinks = 0;
  const review: ReviewCandidate[] = [];
  const firstWithId = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = idHash[i]!;
    if (h === '') continue;
    const first = firstWithId.get(h);
    if (first === undefined) {
      firstWithId.set(h, i);
      continue;
    }
    // Same ID number but names without a single common character: a keying error in one source, not a person.
    const a = features[first]!;
    const b = features[i]!;
    if (a.name !== undefined && b.name !== undefined && !nameChars(a.name).some((c) => b.name!.includes(c))) {
      const levels: ComparisonLevels = {};
      review.push({ a: first, b: i, score: scorer.compare(a, b, levels), levels });
      continue;
    }
    if (clusters.union(first, i)) {
      mark(first, i, 'id', Infinity);
      idLinks++;
    }
  }

  // 3. Account identity within one member (C19): username, identifier and email all present and equal.
  let accountLinks = 0;
  const accounts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const f = features[i]!;
    if (f.username === undefined || f.identifier === undefined || f.email === undefined) continue;
    const k = `${inputs[i]!.member}\u0000${f.username}\u0000${f.identifier}\u0000${f.email}`;
    const first = accounts.get(k);
    if (first === undefined) accounts.set(k, i);
    else if (clusters.union(first, i)) {
      mark(first, i, 'account', Infinity);
      accountLinks++;
    }
  }

  lap('exact');
  // 4. Blocking: pack (hash of key, record index) into doubles and sort; equal hashes are one block.
  const indexBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const hashBits = Math.min(32, 53 - indexBits);
  const hashScale = 2 ** indexBits;
  // The key type (1–5) rides in the top 3 bits of the block hash, so a block knows which pairs an earlier key type already scored.
  const typeScale = 2 ** (hashBits - 3);
  const udate: string[] = new Array(n);
  const nameWeight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = features[i]!;
    udate[i] = f.birth !== undefined ? unorderedDate(f.birth) : '';
    if (f.name !== undefined) nameWeight[i] = scorer.nameExact(f.name);
  }
  let sorted = new Float64Array(Math.max(16, n * 4));
  let used = 0;
  const push = (type: number, h: number, i: number): void => {
    if (used === sorted.length) {
      const bigger = new Float64Array(sorted.length * 2);
      bigger.set(sorted);
      sorted = bigger;
    }
    sorted[used++] = (type * typeScale + (h % typeScale)) * hashScale + i;
  };
  for (let i = 0; i < n; i++) {
    const f = features[i]!;
    const name = f.name;
    if (f.birth !== undefined && name !== undefined) {
      const ud = udate[i]!;
      push(1, fnv1a(1, ud, firstChar(name)), i);
      push(2, fnv1a(2, ud, lastChar(name)), i);
      push(3, fnv1a(3, name, f.birth.slice(0, 4)), i);
    }
    if (f.phone !== undefined) push(4, fnv1a(4, f.phone), i);
    if (f.email !== undefined) push(5, fnv1a(5, f.email), i);
  }
  sorted = sorted.subarray(0, used);
  lap('blockKeys');
  sorted.sort();
  lap('blockSort');

  const auto: number[] = [];
  const reviewSeen = new Set<number>();
  let candidatePairs = 0;
  let oversizedBlocks = 0;
  const block: number[] = [];
  const sameMemberVeto = (a: number, b: number): boolean => {
    if (inputs[a]!.member !== inputs[b]!.member) return false;
    const fa = features[a]!;
    const fb = features[b]!;
    // C19: inside one member a different username or identifier means a different account holder.
    return (fa.username !== undefined && fb.username !== undefined && fa.username !== fb.username)
      || (fa.identifier !== undefined && fb.identifier !== undefined && fa.identifier !== fb.identifier);
  };
  // Was this pair already in a block of an earlier key type? (same unordered date and first character → type 1, …)
  const coveredBefore = (type: number, a: number, b: number): boolean => {
    if (type === 1) return false;
    const fa = features[a]!;
    const fb = features[b]!;
    const t1 = udate[a] !== '' && udate[a] === udate[b] && fa.name !== undefined && fb.name !== undefined && firstChar(fa.name) === firstChar(fb.name);
    if (t1) return true;
    if (type === 2) return false;
    const t2 = udate[a] !== '' && udate[a] === udate[b] && fa.name !== undefined && fb.name !== undefined && lastChar(fa.name) === lastChar(fb.name);
    if (t2) return true;
    if (type === 3) return false;
    const t3 = fa.name !== undefined && fa.name === fb.name && fa.birth !== undefined && fb.birth !== undefined && same4(fa.birth, fb.birth);
    if (t3) return true;
    if (type === 4) return false;
    return fa.phone !== undefined && fa.phone === fb.phone;
  };
  let blockType = 0;
  const flush = (): void => {
    if (block.length < 2) return;
    if (block.length > maxBlock) {
      oversizedBlocks++;
      return;
    }
    for (let x = 0; x < block.length; x++) {
      const a = block[x]!;
      const aHasId = idHash[a] !== '';
      for (let y = x + 1; y < block.length; y++) {
        const b = block[y]!;
        // Two valid ID numbers decide on their own (equal: linked above; different: different people).
        if (aHasId && idHash[b] !== '') continue;
        if (sameMemberVeto(a, b)) continue;
        if (coveredBefore(blockType, a, b)) continue;
        candidatePairs++;
        const s = scorer.compare(features[a]!, features[b]!, undefined, nameWeight[a]);
        if (s >= thresholds.autoLink) auto.push(s, a, b);
        else if (s >= thresholds.review) {
          const pk = a < b ? a * n + b : b * n + a;
          if (reviewSeen.has(pk)) continue;
          reviewSeen.add(pk);
          const levels: ComparisonLevels = {};
          scorer.compare(features[a]!, features[b]!, levels);
          review.push({ a, b, score: s, levels });
        }
      }
    }
  };
  let current = -1;
  for (let k = 0; k < sorted.length; k++) {
    const v = sorted[k]!;
    const h = Math.floor(v / hashScale);
    const i = v - h * hashScale;
    if (h !== current) {
      flush();
      block.length = 0;
      current = h;
      blockType = Math.floor(h / typeScale);
    }
    block.push(i);
  }
  flush();

  lap('pairs');
  // Strongest links first: sort edge numbers by score without an object per edge.
  const order = new Uint32Array(auto.length / 3);
  for (let e = 0; e < order.length; e++) order[e] = e;
  order.sort((x, y) => auto[y * 3]! - auto[x * 3]!);
  let probabilisticLinks = 0;
  for (const e of order) {
    const s = auto[e * 3]!;
    const a = auto[e * 3 + 1]!;
    const b = auto[e * 3 + 2]!;
    if (clusters.find(a) === clusters.find(b)) continue;
    if (clusters.union(a, b)) {
      mark(a, b, 'probabilistic', s);
      probabilisticLinks++;
    }
  }

  lap('links');
  const cluster = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    cluster[i] = clusters.find(i);
    if (cluster[i] === i) count++;
  }
  // A review item is only worth an operator's time when the two records ended up apart and were not separated by hand.
  const bestReview = new Map<string, ReviewCandidate>();
  for (const r of review) {
    const ca = cluster[r.a]!;
    const cb = cluster[r.b]!;
    if (ca === cb) continue;
    if (cannot.get(r.a)?.includes(r.b)) continue;
    const k = ca < cb ? `${ca}/${cb}` : `${cb}/${ca}`;
    const prev = bestReview.get(k);
    if (!prev || r.score > prev.score) bestReview.set(k, r);
  }
  return {
    features,
    idHash,
    cluster,
    method,
    score,
    review: [...bestReview.values()],
    phases,
    stats: { records: n, clusters: count, idLinks, accountLinks, probabilisticLinks, candidatePairs, oversizedBlocks, refusedUnions: clusters.refused },
  };
}
