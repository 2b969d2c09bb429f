// File selection: a path, a glob (`*`, `?`, `**`) or a list of them, relative to the base folder.
// Node 20 has no fs.glob, and a roster folder is small, so a plain walk is enough.

import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface RosterFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the base folder, with `/` (used in problems and checkpoints). */
  name: string;
}

function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += pattern[i + 2] === '/' ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', 'i');
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, out);
    else if (entry.isFile()) out.push(full);
  }
}

/** Resolves patterns to existing files, sorted by name (the order is part of the checkpoint). */
export async function resolveFiles(baseDir: string, patterns: string[]): Promise<{ files: RosterFile[]; missing: string[] }> {
  const found = new Map<string, RosterFile>();
  const missing: string[] = [];
  const nameOf = (abs: string): string => {
    const rel = relative(baseDir, abs);
    return (rel.startsWith('..') || isAbsolute(rel) ? abs : rel).split(sep).join('/');
  };
  for (const pattern of patterns) {
    const normalized = pattern.split('\\').join('/');
    if (!hasGlob(normalized)) {
      const abs = isAbsolute(normalized) ? normalized : resolve(baseDir, normalized);
      const st = await stat(abs).catch(() => undefined);
      if (st?.isFile()) found.set(abs, { path: abs, name: nameOf(abs) });
      else missing.push(pattern);
      continue;
    }
    // Walk from the longest glob-free prefix.
    const parts = normalized.split('/');
    const fixed: string[] = [];
    while (parts.length > 1 && !hasGlob(parts[0]!)) fixed.push(parts.shift()!);
    const root = isAbsolute(normalized) ? '/' + fixed.filter((p) => p !== '').join('/') : resolve(baseDir, fixed.join('/'));
    const matcher = globToRegExp(parts.join('/'));
    const all: string[] = [];
    await walk(root, all);
    let matched = 0;
    for (const abs of all) {
      if (matcher.test(relative(root, abs).split(sep).join('/'))) {
        found.set(abs, { path: abs, name: nameOf(abs) });
        matched++;
      }
    }
    if (matched === 0) missing.push(pattern);
  }
  const files = [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, missing };
}
