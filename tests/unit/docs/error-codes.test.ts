// Error codes are a public API: every code the code can emit is documented where operators and
// integrators look (a module README or a page under docs/). This catches the whole kind of fault —
// a new code shipped without a word — not one instance.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../../core/config/load.ts';

function walk(dir: string, keep: (file: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, keep, out);
    else if (keep(path)) out.push(path);
  }
  return out;
}

const EMITTED = [
  /\bcode:\s*'([A-Z][A-Z0-9_]{2,})'/g,
  /new VochubError\(\s*'([A-Z][A-Z0-9_]{2,})'/g,
  /\bapiError\(\s*'([A-Z][A-Z0-9_]{2,})'/g,
];

describe('error codes', () => {
  it('every emitted code is documented in a README or under docs/', () => {
    const roots = ['core', 'adapters', 'plugins'].map((d) => join(repoRoot, d));
    const sources = roots.flatMap((r) => {
      try {
        return walk(r, (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
      } catch {
        return [];
      }
    });
    const docs = [...roots, join(repoRoot, 'docs')].flatMap((r) => {
      try {
        return walk(r, (f) => f.endsWith('.md'));
      } catch {
        return [];
      }
    });
    const documented = docs.map((f) => readFileSync(f, 'utf8')).join('\n');
    const missing: string[] = [];
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of EMITTED) {
        for (const match of text.matchAll(pattern)) {
          const code = match[1]!;
          if (!new RegExp(`\\b${code}\\b`).test(documented)) missing.push(`${code} (${relative(repoRoot, file)})`);
        }
      }
    }
    expect([...new Set(missing)].sort()).toEqual([]);
  });
});
