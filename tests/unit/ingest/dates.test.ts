import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { excelSerialToDate, parseCalendarDate, toOffsetDateTime, DEFAULT_DATE_FORMATS } from '../../../core/ingest/dates.ts';
import { readDelimited } from '../../../core/ingest/delimited.ts';
import { caseFile, collect } from './helpers.ts';

describe('calendar dates', () => {
  it('C07: every local format in the file yields 2006-03-07 / 2023-09-01; the serial only when allowed', async () => {
    const { rows } = await collect(readDelimited(caseFile('C07-mixed-date-formats.csv')));
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      expect(parseCalendarDate(row.values['出生日期']!, DEFAULT_DATE_FORMATS)).toEqual({ ok: true, date: '2006-03-07' });
      expect(parseCalendarDate(row.values['入学日期']!, DEFAULT_DATE_FORMATS, { allowSerial: true })).toEqual({ ok: true, date: '2023-09-01' });
    }
    const serial = rows[3]!.values['入学日期']!;
    expect(serial).toBe('45170');
    expect(parseCalendarDate(serial, DEFAULT_DATE_FORMATS)).toMatchObject({ ok: false, code: 'DATE_FORMAT' });
  });

  it('accepts only the configured formats', () => {
    expect(parseCalendarDate('2023/9/1', ['YYYY-MM-DD'])).toMatchObject({ ok: false, code: 'DATE_FORMAT' });
    expect(parseCalendarDate('9/1/2023', ['M/D/YYYY'])).toEqual({ ok: true, date: '2023-09-01' });
    expect(parseCalendarDate('9/1/2023', DEFAULT_DATE_FORMATS)).toMatchObject({ ok: false, code: 'DATE_FORMAT' });
    expect(parseCalendarDate('2023-09-01 00:00:00', ['YYYY-MM-DD HH:mm:ss'])).toEqual({ ok: true, date: '2023-09-01' });
  });

  it('checks the real calendar: Feb 30, month 13 and Feb 29 of a common year are invalid', () => {
    expect(parseCalendarDate('2006-02-30')).toMatchObject({ ok: false, code: 'DATE_INVALID' });
    expect(parseCalendarDate('2006年13月1日')).toMatchObject({ ok: false, code: 'DATE_INVALID' });
    expect(parseCalendarDate('2023-02-29')).toMatchObject({ ok: false, code: 'DATE_INVALID' });
    expect(parseCalendarDate('2024-02-29')).toEqual({ ok: true, date: '2024-02-29' });
    expect(parseCalendarDate('1900-02-29')).toMatchObject({ ok: false, code: 'DATE_INVALID' });
  });

  it('folds full-width digits and ideographic spaces before matching', () => {
    expect(parseCalendarDate('\u3000２００６年３月７日 ')).toEqual({ ok: true, date: '2006-03-07' });
  });

  it('converts Excel serials in the 1900 system (with its fictitious 1900-02-29) and the 1904 system', () => {
    expect(excelSerialToDate(45170)).toEqual({ ok: true, date: '2023-09-01' });
    expect(excelSerialToDate(38596)).toEqual({ ok: true, date: '2005-09-01' });
    expect(excelSerialToDate(1)).toEqual({ ok: true, date: '1900-01-01' });
    expect(excelSerialToDate(59)).toEqual({ ok: true, date: '1900-02-28' });
    expect(excelSerialToDate(60)).toMatchObject({ ok: false, code: 'DATE_INVALID' });
    expect(excelSerialToDate(61)).toEqual({ ok: true, date: '1900-03-01' });
    expect(excelSerialToDate(45170 - 1462, 1904)).toEqual({ ok: true, date: '2023-09-01' });
    expect(excelSerialToDate(0, 1904)).toEqual({ ok: true, date: '1904-01-01' });
    expect(excelSerialToDate(45170.75)).toEqual({ ok: true, date: '2023-09-01' });
  });
});

describe('offset date-times', () => {
  const c41 = JSON.parse(readFileSync(caseFile('C41-ajv-datetime-no-tz.json'), 'utf8')) as { instances: { submittedAt: string }[] };
  const values = c41.instances.map((i) => i.submittedAt);

  it('C41: gives offset-less local times an explicit +08:00 and keeps explicit offsets', () => {
    const results = values.map((v) => toOffsetDateTime(v, { zone: '+08:00' }));
    expect(results).toEqual([
      { ok: true, value: '2024-03-01T08:30:00+08:00' },
      { ok: true, value: '2024-03-01T08:30:00+08:00' },
      { ok: true, value: '2024-03-01T08:30:00+08:00' },
      { ok: true, value: '2024-03-01T00:30:00.000Z' },
      expect.objectContaining({ ok: false, code: 'DATE_FORMAT' }),
      { ok: true, value: '2024-03-01T08:30:00+08:00' },
    ]);
  });

  it('C41: converts only the configured local formats, never guesses', () => {
    const strict = values.map((v) => toOffsetDateTime(v, { zone: '+08:00', formats: ['YYYY-MM-DDTHH:mm:ss', 'YYYY-MM-DD HH:mm:ss'] }).ok);
    expect(strict).toEqual([true, true, true, true, false, false]);
    expect(toOffsetDateTime('2024-02-30 08:00:00', { zone: '+08:00' })).toMatchObject({ ok: false, code: 'DATE_INVALID' });
    expect(() => toOffsetDateTime('2024-03-01 08:00:00', { zone: '+8' })).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
