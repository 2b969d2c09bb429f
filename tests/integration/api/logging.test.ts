import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MEMBER_A, bearer, startHub } from './harness.ts';
import type { TestHub } from './harness.ts';

let t: TestHub;
const lines: string[] = [];
beforeAll(async () => {
  // The most talkative level, unredacted: what keeps secrets out must be the API itself.
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  t = await startHub({ logger: pino({ level: 'trace' }, sink) });
});
afterAll(async () => { await t.close(); });

it('logs requests without API keys or revealed PII', async () => {
  const key = await t.key('member-admin', MEMBER_A);
  const res = await t.app.inject({ url: '/api/v1/records/student?reveal=true', headers: bearer(key) });
  expect(res.body).toContain('11010120050901109X');
  await t.app.inject({ url: '/api/v1/members', headers: { 'x-api-key': key } });
  await t.app.inject({ url: '/api/v1/members', headers: { authorization: `Bearer ${key}x` } });
  const log = lines.join('');
  expect(log).toContain('/api/v1/records/student');
  const secret = key.split('_').slice(2).join('_');
  expect(log).not.toContain(secret);
  expect(log).not.toContain('11010120050901109X');
  expect(log).not.toContain('冯小雨');
});

it('logs request paths without their query strings (tickets, codes and filter values stay out)', async () => {
  const key = await t.key('reader', MEMBER_A);
  await t.app.inject({ url: '/api/v1/records/student?member=4133010001&after=c2VjcmV0LWN1cnNvcg&ticket=ST-abcdef123456', headers: bearer(key) });
  const log = lines.join('');
  expect(log).toContain('"url":"/api/v1/records/student"');
  expect(log).not.toContain('ST-abcdef123456');
  expect(log).not.toContain('c2VjcmV0LWN1cnNvcg');
});
