import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_A, bearer, startHub } from './harness.ts';
import type { TestHub } from './harness.ts';

let t: TestHub;
beforeAll(async () => { t = await startHub(); });
afterAll(async () => { await t.close(); });

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, code: string, instance: string) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toEqual(expect.objectContaining({
    type: `https://vochub.dev/errors/${code}`, title: expect.any(String), status, detail: expect.any(String), code, instance,
  }));
  return body;
}

describe('authentication', () => {
  it('answers 401 AUTH_REQUIRED without a key, with a Bearer challenge', async () => {
    const res = await t.app.inject({ url: '/api/v1/records/student?limit=5' });
    expectProblem(res, 401, 'AUTH_REQUIRED', '/api/v1/records/student');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('answers 401 AUTH_INVALID for malformed, unknown and wrong-secret keys', async () => {
    const good = await t.key('reader', MEMBER_A);
    const wrongSecret = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const header of ['Bearer nope', 'Basic dXNlcjpwYXNz', `Bearer vh_000000000000_${'A'.repeat(43)}`, `Bearer ${wrongSecret}`]) {
      const res = await t.app.inject({ url: '/api/v1/members', headers: { authorization: header } });
      expectProblem(res, 401, 'AUTH_INVALID', '/api/v1/members');
    }
  });

  it('accepts the key in X-Api-Key too', async () => {
    const res = await t.app.inject({ url: '/api/v1/members', headers: { 'x-api-key': await t.key('reader', MEMBER_A) } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses a revoked key', async () => {
    const admin = await t.key('group-admin', null);
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(admin), payload: { name: 'temp', role: 'reader', member: MEMBER_A } });
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json();
    expect((await t.app.inject({ url: '/api/v1/members', headers: bearer(key) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${id}`, headers: bearer(admin) })).statusCode).toBe(204);
    expectProblem(await t.app.inject({ url: '/api/v1/members', headers: bearer(key) }), 401, 'AUTH_INVALID', '/api/v1/members');
  });
});

describe('problem+json for every error', () => {
  it('403 FORBIDDEN when the role lacks the permission', async () => {
    const res = await t.app.inject({ url: '/api/v1/audit', headers: bearer(await t.key('reader', MEMBER_A)) });
    expectProblem(res, 403, 'FORBIDDEN', '/api/v1/audit');
  });

  it('404 NOT_FOUND for an unknown route and an unknown record', async () => {
    const key = await t.key('reader', MEMBER_A);
    expectProblem(await t.app.inject({ url: '/api/v1/nothing-here?x=1', headers: bearer(key) }), 404, 'NOT_FOUND', '/api/v1/nothing-here');
    expectProblem(await t.app.inject({ url: `/api/v1/records/student/${MEMBER_A}/nobody`, headers: bearer(key) }), 404, 'NOT_FOUND', `/api/v1/records/student/${MEMBER_A}/nobody`);
    expectProblem(await t.app.inject({ url: '/nope' }), 404, 'NOT_FOUND', '/nope');
  });

  it('400 REQUEST_INVALID from schema validation, naming the field but not echoing values', async () => {
    const key = await t.key('reader', MEMBER_A);
    const body = expectProblem(await t.app.inject({ url: '/api/v1/records/student?limit=0', headers: bearer(key) }), 400, 'REQUEST_INVALID', '/api/v1/records/student');
    expect(body.errors).toEqual([expect.objectContaining({ in: 'querystring', field: 'limit' })]);
    const admin = await t.key('group-admin', null);
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(admin), payload: { name: 'x', role: 'superuser' } });
    expect(expectProblem(bad, 400, 'REQUEST_INVALID', '/api/v1/keys').errors[0]).toMatchObject({ in: 'body', field: 'role' });
  });

  it('400 REQUEST_INVALID for a body that is not JSON, 415 for another media type', async () => {
    const admin = await t.key('group-admin', null);
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { ...bearer(admin), 'content-type': 'application/json' }, payload: '{"name":' });
    expectProblem(res, 400, 'REQUEST_INVALID', '/api/v1/keys');
    const xml = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { ...bearer(admin), 'content-type': 'application/xml' }, payload: '<a/>' });
    expectProblem(xml, 415, 'MEDIA_TYPE_UNSUPPORTED', '/api/v1/keys');
  });

  it('400 REQUEST_INVALID for a number that JSON.parse would round (case C17), naming the path', async () => {
    const admin = await t.key('group-admin', null);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      payload: '{"name":"x","role":"reader","member":1693745891234567890}',
    });
    const body = expectProblem(res, 400, 'REQUEST_INVALID', '/api/v1/keys');
    expect(body.detail).toContain('member');
  });

  it('400 REQUEST_INVALID for an unknown body field instead of dropping it silently', async () => {
    const admin = await t.key('member-admin', MEMBER_A);
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(admin), payload: { name: 'x', role: 'reader', pii: true } });
    expect(expectProblem(res, 400, 'REQUEST_INVALID', '/api/v1/keys').errors[0]).toMatchObject({ in: 'body' });
  });

  it('checks the key before validating the request', async () => {
    expectProblem(await t.app.inject({ url: '/api/v1/records/student?limit=0' }), 401, 'AUTH_REQUIRED', '/api/v1/records/student');
  });
});

describe('public and operational routes', () => {
  it('serves /healthz and /readyz without a key', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ ok: true });
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ok: true, checks: { bus: { ok: true } } });
  });

  it('protects /metrics with metrics:read and counts requests and stored records', async () => {
    expectProblem(await t.app.inject({ url: '/metrics' }), 401, 'AUTH_REQUIRED', '/metrics');
    expectProblem(await t.app.inject({ url: '/metrics', headers: bearer(await t.key('member-admin', MEMBER_A)) }), 403, 'FORBIDDEN', '/metrics');
    const scrape = await t.key('service', MEMBER_A, ['metrics:read']);
    const res = await t.app.inject({ url: '/metrics', headers: bearer(scrape) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('vochub_http_request_duration_seconds_bucket');
    expect(res.body).toMatch(new RegExp(`vochub_records\\{member="${MEMBER_A}",contract="student"\\} 2`));
    expect(res.body).toContain('process_cpu_user_seconds_total');
  });

  it('publishes an OpenAPI document listing the routes, with the problem schema', async () => {
    const res = await t.app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1/);
    for (const path of [
      '/healthz', '/readyz', '/metrics', '/api/v1/members', '/api/v1/contracts', '/api/v1/contracts/{name}',
      '/api/v1/records/{contract}', '/api/v1/records/{contract}/{member}/{key}', '/api/v1/import-runs', '/api/v1/import-runs/{id}',
      '/api/v1/import-runs/{id}/problems', '/api/v1/problems', '/api/v1/problems/{id}/replay',
      '/api/v1/members/{member}/adapters/{adapter}/import', '/api/v1/dlq', '/api/v1/dlq/{id}', '/api/v1/dlq/{id}/replay',
      '/api/v1/dlq/{id}/discard', '/api/v1/audit', '/api/v1/keys',
    ]) expect(Object.keys(doc.paths), path).toContain(path);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(JSON.stringify(doc.components.schemas)).toContain('RFC 9457');
    expect((await t.app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });
});
