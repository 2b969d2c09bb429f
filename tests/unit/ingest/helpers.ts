import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DelimitedItem } from '../../../core/ingest/table.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const casesDir = join(here, '../../fixtures/cases');
export const fixturesDir = join(here, 'fixtures');
export const caseFile = (name: string): string => join(casesDir, name);
export const fixture = (name: string): string => join(fixturesDir, name);

export async function collect(items: AsyncIterable<DelimitedItem>) {
  const rows: { line: number; values: Record<string, string>; sheet?: string; cells?: string[] }[] = [];
  const problems: { code: string; severity: string; message: string; line?: number; column?: string | number; value?: string }[] = [];
  const metas: { encoding: string; columns: string[]; sheet?: string }[] = [];
  for await (const item of items) {
    if (item.kind === 'row') rows.push(item.row);
    else if (item.kind === 'problem') problems.push(item.problem);
    else metas.push(item);
  }
  return { rows, problems, meta: metas[0] };
}
