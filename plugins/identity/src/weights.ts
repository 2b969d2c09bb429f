// Fellegi–Sunter comparison weights. For each field and agreement level, m = P(level | same person)
// and u = P(level | different persons); the weight is log2(m/u). A pair's score is the sum over the
// fields both records carry (a missing value on either side adds 0). The figures are priors set from
// the damage we see in member exports (docs/identity.md) and are configurable; the name agreement u
// comes from the observed frequency of the name in the run, so a common name (王伟) counts less
// than a rare one.
import { firstChar, nameChars, type PersonFeatures } from './features.ts';

export interface LevelProbabilities {
  m: number;
  u: number;
}

export interface MatchWeights {
  name: { exact: { m: number; uMin: number; uMax: number }; near: LevelProbabilities; surname: LevelProbabilities; other: LevelProbabilities };
  birthDate: { exact: LevelProbabilities; swapped: LevelProbabilities; partial: LevelProbabilities; other: LevelProbabilities };
  phone: { exact: LevelProbabilities; other: LevelProbabilities };
  sex: { exact: LevelProbabilities; other: LevelProbabilities };
  email: { exact: LevelProbabilities; other: LevelProbabilities };
}

export interface MatchThresholds {
  /** score ≥ autoLink: linked without review. */
  autoLink: number;
  /** review ≤ score < autoLink: into the review queue. Below: no link. */
  review: number;
}

export const DEFAULT_WEIGHTS: MatchWeights = {
  name: {
    // u of exact agreement = share of records carrying that name, clamped to [uMin, uMax].
    exact: { m: 0.88, uMin: 0.00002, uMax: 0.002 },
    // One edit (typo, 同音字 substitution, dropped or doubled character) with at least two characters in common.
    near: { m: 0.09, u: 0.0008 },
    // Same first character only: for two-character names a typo in the given name looks exactly like another person.
    surname: { m: 0.02, u: 0.03 },
    other: { m: 0.01, u: 0.97 },
  },
  birthDate: {
    exact: { m: 0.9, u: 0.0002 },
    // Day and month swapped (an Excel locale flip): 2007-03-10 ↔ 2007-10-03.
    swapped: { m: 0.05, u: 0.0002 },
    // Exactly one of year / month / day differs.
    partial: { m: 0.03, u: 0.01 },
    other: { m: 0.02, u: 0.9896 },
  },
  phone: {
    exact: { m: 0.7, u: 0.0005 },
    // People change numbers; a differing phone is weak evidence.
    other: { m: 0.3, u: 0.9995 },
  },
  sex: { exact: { m: 0.99, u: 0.5 }, other: { m: 0.01, u: 0.5 } },
  email: { exact: { m: 0.6, u: 0.00001 }, other: { m: 0.4, u: 0.99999 } },
};

export const DEFAULT_THRESHOLDS: MatchThresholds = { autoLink: 18, review: 12 };

export type NameLevel = 'exact' | 'near' | 'surname' | 'other';
export type DateLevel = 'exact' | 'swapped' | 'partial' | 'other';
export type SimpleLevel = 'exact' | 'other';

/** Agreement levels of one compared pair: persisted with review items (levels, never values). */
export interface ComparisonLevels {
  name?: NameLevel;
  birthDate?: DateLevel;
  phone?: SimpleLevel;
  sex?: SimpleLevel;
  email?: SimpleLevel;
}

const log2 = Math.log2;

/** Precomputed log-weights. */
export class Scorer {
  readonly near: number;
  readonly surname: number;
  readonly nameOther: number;
  readonly nameExactM: number;
  readonly nameUMin: number;
  readonly nameUMax: number;
  readonly date: Record<DateLevel, number>;
  readonly phone: Record<SimpleLevel, number>;
  readonly sex: Record<SimpleLevel, number>;
  readonly email: Record<SimpleLevel, number>;
  /** Name → share of records with that name (set per run). */
  private nameShare: (name: string) => number = () => 0.001;

  constructor(weights: MatchWeights = DEFAULT_WEIGHTS) {
    const w = (p: LevelProbabilities): number => log2(p.m / p.u);
    this.near = w(weights.name.near);
    this.surname = w(weights.name.surname);
    this.nameOther = w(weights.name.other);
    this.nameExactM = weights.name.exact.m;
    this.nameUMin = weights.name.exact.uMin;
    this.nameUMax = weights.name.exact.uMax;
    this.date = { exact: w(weights.birthDate.exact), swapped: w(weights.birthDate.swapped), partial: w(weights.birthDate.partial), other: w(weights.birthDate.other) };
    this.phone = { exact: w(weights.phone.exact), other: w(weights.phone.other) };
    this.sex = { exact: w(weights.sex.exact), other: w(weights.sex.other) };
    this.email = { exact: w(weights.email.exact), other: w(weights.email.other) };
  }

  /** Uses the observed name frequencies of a run (count per name, total records). */
  useNameFrequencies(counts: Map<string, number>, total: number): void {
    this.nameShare = (name) => (counts.get(name) ?? 1) / Math.max(total, 1);
  }

  nameExact(name: string): number {
    const u = Math.min(this.nameUMax, Math.max(this.nameUMin, this.nameShare(name)));
    return log2(this.nameExactM / u);
  }

  /** Score and agreement levels of a pair. */
  compare(a: PersonFeatures, b: PersonFeatures, levels?: ComparisonLevels, nameExactWeight?: number): number {
    let score = 0;
    if (a.name !== undefined && b.name !== undefined) {
      const level = nameLevel(a, b);
      score += level === 'exact' ? nameExactWeight ?? this.nameExact(a.name) : level === 'near' ? this.near : level === 'surname' ? this.surname : this.nameOther;
      if (levels) levels.name = level;
    }
    if (a.birth !== undefined && b.birth !== undefined) {
      const level = dateLevel(a.birth, b.birth);
      score += this.date[level];
      if (levels) levels.birthDate = level;
    }
    if (a.phone !== undefined && b.phone !== undefined) {
      const level: SimpleLevel = a.phone === b.phone ? 'exact' : 'other';
      score += this.phone[level];
      if (levels) levels.phone = level;
    }
    if (a.sex !== undefined && b.sex !== undefined) {
      const level: SimpleLevel = a.sex === b.sex ? 'exact' : 'other';
      score += this.sex[level];
      if (levels) levels.sex = level;
    }
    if (a.email !== undefined && b.email !== undefined) {
      const level: SimpleLevel = a.email === b.email ? 'exact' : 'other';
      score += this.email[level];
      if (levels) levels.email = level;
    }
    return score;
  }
}

export function nameLevel(a: PersonFeatures, b: PersonFeatures): NameLevel {
  const an = a.name!;
  const bn = b.name!;
  if (an === bn) return 'exact';
  if (Math.abs(an.length - bn.length) <= 1 && an.length >= 3 && bn.length >= 3 && withinOneEdit(nameChars(an), nameChars(bn)) && Math.min(nameChars(an).length, nameChars(bn).length) >= 3) return 'near';
  return firstChar(an) === firstChar(bn) ? 'surname' : 'other';
}

/** Levenshtein distance ≤ 1, or one adjacent transposition (Damerau). */
export function withinOneEdit(x: string[], y: string[]): boolean {
  const lx = x.length;
  const ly = y.length;
  if (Math.abs(lx - ly) > 1) return false;
  if (lx === ly) {
    let first = -1;
    let diffs = 0;
    for (let i = 0; i < lx; i++) {
      if (x[i] !== y[i]) {
        if (diffs === 0) first = i;
        if (++diffs > 2) return false;
      }
    }
    if (diffs <= 1) return true;
    // Two differences: only an adjacent transposition counts as one edit.
    return first + 1 < lx && x[first] === y[first + 1] && x[first + 1] === y[first] && diffsAfter(x, y, first + 2) === 0;
  }
  const [s, l] = lx < ly ? [x, y] : [y, x];
  let i = 0;
  let j = 0;
  let skipped = false;
  while (i < s.length && j < l.length) {
    if (s[i] === l[j]) {
      i++;
      j++;
    } else {
      if (skipped) return false;
      skipped = true;
      j++;
    }
  }
  return true;
}

function diffsAfter(x: string[], y: string[], from: number): number {
  let n = 0;
  for (let i = from; i < x.length; i++) if (x[i] !== y[i]) n++;
  return n;
}

function same(a: string, b: string, i: number, j: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a.charCodeAt(i + k) !== b.charCodeAt(j + k)) return false;
  return true;
}

/** Levels of two ISO dates, by character codes (this runs for every candidate pair). */
export function dateLevel(a: string, b: string): DateLevel {
  if (a === b) return 'exact';
  const sameYear = same(a, b, 0, 0, 4);
  const sameMonth = same(a, b, 5, 5, 2);
  const sameDay = same(a, b, 8, 8, 2);
  if (sameYear && same(a, b, 5, 8, 2) && same(a, b, 8, 5, 2)) return 'swapped';
  const differing = (sameYear ? 0 : 1) + (sameMonth ? 0 : 1) + (sameDay ? 0 : 1);
  return differing === 1 ? 'partial' : 'other';
}
