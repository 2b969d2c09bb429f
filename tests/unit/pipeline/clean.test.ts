import { describe, expect, it } from 'vitest';
import { cleanRecord } from '../../../core/pipeline/clean.ts';

describe('generic cleaning', () => {
  it('trims (incl. ideographic space), folds full-width identifiers with NFKC and counts each rule', () => {
    const result = cleanRecord({ id: '　２０２３０１　', studentNumber: 'ＳＴ００１', name: ' 王 小明 ' });
    expect(result.data).toEqual({ id: '202301', studentNumber: 'ST001', name: '王 小明' });
    expect(result.changes.trim).toBe(2);
    expect(result.changes.nfkc).toBe(2);
  });

  it('does not NFKC names (compatibility ideographs in names are the person’s own)', () => {
    const result = cleanRecord({ id: '1', name: '\uF900' });
    expect(result.data.name).toBe('\uF900');
  });

  it('unifies name separator look-alikes to U+00B7', () => {
    for (const sep of ['・', '･', '•', '‧', '∙', '⋅', '●', '．']) {
      expect(cleanRecord({ id: '1', name: `阿依古丽${sep}买买提` }).data.name).toBe('阿依古丽·买买提');
    }
    expect(cleanRecord({ id: '1', name: '阿依古丽 · 买买提' }).data.name).toBe('阿依古丽·买买提');
  });

  it('uppercases the ID number check character and compacts phone numbers', () => {
    const result = cleanRecord({ id: '1', idNumber: '11010519491231002x', phone: '+86 138-0013-8000' });
    expect(result.data.idNumber).toBe('11010519491231002X');
    expect(result.data.phone).toBe('13800138000');
  });

  it('drops empty strings instead of storing them', () => {
    expect(cleanRecord({ id: '1', email: '   ', roles: [' ', 'teacher'] }).data).toEqual({ id: '1', roles: ['teacher'] });
  });

  it('refuses U+FFFD anywhere, naming the field, and keeps extensions untouched', () => {
    const bad = cleanRecord({ id: '1', name: '王\uFFFD明' });
    expect(bad.problems).toHaveLength(1);
    expect(bad.problems[0]).toMatchObject({ code: 'ENCODING_REPLACEMENT_CHAR', field: 'name' });
    expect(cleanRecord({ id: '1', extensions: { note: '  keep  ' } }).data.extensions).toEqual({ note: '  keep  ' });
  });
});

describe('multi-line fields (case C10)', () => {
  it('keeps the line breaks typed in an address or remark, as \n, and trims each line', () => {
    const result = cleanRecord({ id: '1', address: '  某省某市某区\r\n 某路1号  ', note: '第一行\r第二行', name: '王\n小明' });
    expect(result.data.address).toBe('某省某市某区\n某路1号');
    expect(result.data.note).toBe('第一行\n第二行');
    // Single-line fields still fold a stray break into a space.
    expect(result.data.name).toBe('王 小明');
  });
});
