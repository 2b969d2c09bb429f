// 学年 (school year): 1 September – 31 August, written `2024-2025`. Dates are calendar dates (YYYY-MM-DD),
// compared as strings, never through `Date` (no zone can shift a day).

export interface SchoolYear {
  /** e.g. `2024-2025`. */
  label: string;
  /** First day, `YYYY-09-01`. */
  start: string;
  /** Last day, `YYYY-08-31` of the following year. */
  end: string;
  startYear: number;
}

const LABEL = /^(\d{4})-(\d{4})$/;

/** Parses `2024-2025`; undefined when the label is not two consecutive years. */
export function parseSchoolYear(label: string): SchoolYear | undefined {
  const m = LABEL.exec(label.trim());
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (b !== a + 1 || a < 1949 || a > 2200) return undefined;
  return { label: `${a}-${b}`, start: `${a}-09-01`, end: `${b}-08-31`, startYear: a };
}

/** The 学年 a calendar date falls in (September starts a new one). */
export function schoolYearOf(date: string): SchoolYear {
  const y = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  const start = month >= 9 ? y : y - 1;
  return parseSchoolYear(`${start}-${start + 1}`)!;
}

/** Adds whole years to a calendar date (Feb 29 → Feb 28). */
export function addYears(date: string, years: number): string {
  const y = Number(date.slice(0, 4)) + years;
  let rest = date.slice(4);
  if (rest === '-02-29') rest = '-02-28';
  return `${String(y).padStart(4, '0')}${rest}`;
}
