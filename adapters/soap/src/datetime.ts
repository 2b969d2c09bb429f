// xs:dateTime values keep the offset they carry; values without one are local times of the peer and
// take the zone its interface declares (config `zone`, default +08:00). Never a JS Date: that would
// move every value to UTC and drop what the peer wrote.

const DATE_TIME = /^(-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:?\d{2})?$/;

/** `2024-03-01T08:30:00` + `+08:00` → `2024-03-01T08:30:00+08:00`; `…Z` and `…+0530` keep their offset (`+05:30`). */
export function withOffset(text: string, zone: string): string {
  const value = text.trim();
  const m = DATE_TIME.exec(value);
  if (m === null) return value;
  const offset = m[2];
  if (offset === undefined) return `${m[1]}${zone}`;
  if (offset === 'Z') return value;
  return `${m[1]}${offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset}`;
}
