import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { DEMO_CONFIG, loadGroupConfig } from '../../../core/config/load.ts';
import { VochubError } from '../../../core/errors.ts';

const fixture = (name: string): string => resolve(import.meta.dirname, '../../fixtures/config', name);

function refusal(fn: () => unknown): VochubError {
  try {
    fn();
  } catch (error) {
    if (error instanceof VochubError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('group configuration', () => {
  it('loads the demo group with defaults and env overrides', () => {
    const config = loadGroupConfig(DEMO_CONFIG, { VOCHUB_DATA: '/tmp/vochub-test-data', PORT: '9099' });
    expect(config.members).toHaveLength(4);
    expect(config.hub.dataDir).toBe('/tmp/vochub-test-data');
    expect(config.hub.port).toBe(9099);
    expect(config.hub.bus.transport).toBe('sqlite');
    expect(config.hub.store.driver).toBe('sqlite');
  });

  it('names file, line and column of a bad adapter name', () => {
    const error = refusal(() => loadGroupConfig(fixture('bad-member.yaml'), {}));
    expect(error.code).toBe('CONFIG_INVALID');
    const issues = error.details?.issues as { path: string; line?: number }[];
    expect(issues).toEqual([expect.objectContaining({ path: 'members/1/adapters/0/name', line: 12, column: 15 })]);
  });

  it('names a duplicate member code once the shape is right', () => {
    const error = refusal(() => loadGroupConfig(fixture('duplicate-member.yaml'), {}));
    expect(error.details?.issues).toEqual([expect.objectContaining({ path: 'members/1/code', line: 8 })]);
  });

  it('refuses unknown keys with their location', () => {
    const error = refusal(() => loadGroupConfig(fixture('unknown-key.yaml'), {}));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('colour');
    expect(error.message).toMatch(/unknown-key\.yaml:5:/);
  });

  it('reports YAML syntax errors with line and column', () => {
    const error = refusal(() => loadGroupConfig(fixture('broken.yaml'), {}));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/broken\.yaml:\d+:\d+/);
  });

  it('refuses a missing file and a bad PORT', () => {
    expect(refusal(() => loadGroupConfig(fixture('nope.yaml'), {})).code).toBe('CONFIG_NOT_FOUND');
    expect(refusal(() => loadGroupConfig(DEMO_CONFIG, { PORT: 'eighty' })).code).toBe('CONFIG_INVALID');
  });
});
