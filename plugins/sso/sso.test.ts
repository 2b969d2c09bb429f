// The SSO plugin over real HTTP (fastify on an ephemeral port, oidc-provider in process): CAS tickets
// (issue, validate, replay, forged, expiry, service mismatch C37, XML and JSON) and the OIDC code flow with
// PKCE S256, the ID token verified against the published JWKS. Plus the demo hub mounting it publicly.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fastify, { type FastifyInstance } from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../core/api/app.ts';
import { createHub, type Hub } from '../../core/hub.ts';
import { silentLogger } from '../../core/logger.ts';
import { getSharedRegistry } from '../../core/contracts/registry.ts';
import factory, { type SsoConfig } from './index.ts';
import { appendTicket, createCas, serviceFromCallback } from './src/cas.ts';
import { loadTestDirectory } from './src/directory.ts';

const HERE = import.meta.dirname;
const USERS = readFileSync(join(HERE, 'fixtures/users.json'), 'utf8');
const CLIENT_SECRET = readFileSync(join(HERE, 'fixtures/client-secret'), 'utf8');
const C37 = readFileSync(resolve(HERE, '../../tests/fixtures/cases/C37-cas-service-mismatch.http'), 'utf8');
const RP = 'https://hub.example.edu.cn';

let app: FastifyInstance;
let base: string;
let dataDir: string;

/** The service URL exactly as the C37 file's step 1 sends it (one level of query decoding). */
function c37LoginService(): string {
  const line = C37.split('\n').find((l) => l.startsWith('GET /cas/login?'))!;
  return new URLSearchParams(line.split(' ')[1]!.split('?')[1]).get('service')!;
}
function c37RebuiltService(): string {
  const line = C37.split('\n').find((l) => l.startsWith('GET /cas/p3/serviceValidate?'))!;
  return new URLSearchParams(line.split(' ')[1]!.split('?')[1]).get('service')!;
}

async function casLogin(service: string, username = 'zhanglan', password = 'Lan-2026-teach'): Promise<Response> {
  return fetch(`${base}/cas/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ service, username, password }).toString(),
  });
}
async function ticketFor(service: string): Promise<string> {
  const res = await casLogin(service);
  expect(res.status).toBe(303);
  const location = res.headers.get('location')!;
  return new URL(location).searchParams.get('ticket')!;
}
async function validate(path: string, ticket: string, service: string, format?: string): Promise<string> {
  const q = new URLSearchParams({ ticket, service, ...(format ? { format } : {}) });
  const res = await fetch(`${base}${path}?${q}`);
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vochub-sso-'));
  // The issuer must be known before the provider is built: find a free port first, then mount.
  const probe = fastify();
  await probe.listen({ port: 0, host: '127.0.0.1' });
  const port = (probe.server.address() as { port: number }).port;
  await probe.close();
  base = `http://127.0.0.1:${port}`;
  const config: SsoConfig = {
    issuer: base,
    users: USERS,
    cas: { services: [{ name: 'hub callback', url: `${RP}/auth/cas/` }, { name: 'grades', url: 'https://grades.example.edu.cn/' }] },
    oidc: { clients: [{ clientId: 'grades-app', clientSecret: CLIENT_SECRET, redirectUris: ['https://grades.example.edu.cn/callback'] }] },
  };
  const instance = await factory({ instance: 'sso', config, baseDir: HERE, dataDir, contracts: getSharedRegistry(), logger: silentLogger });
  app = fastify();
  await app.register(async (scope) => instance.publicRoutes!(scope));
  await app.listen({ port, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('CAS 3.0 service tickets', () => {
  it('issues a single-use ST- ticket appended to the exact service and validates it once with attributes (XML)', async () => {
    const service = 'https://grades.example.edu.cn/login?next=%2Fgrades&lang=zh-CN';
    const res = await casLogin(service);
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${service}&ticket=ST-`)).toBe(true);
    const ticket = new URL(location).searchParams.get('ticket')!;
    const body = await validate('/cas/p3/serviceValidate', ticket, service);
    expect(body).toContain('<cas:authenticationSuccess>');
    expect(body).toContain('<cas:user>zhanglan</cas:user>');
    expect(body).toContain('<cas:memberOf>3133010103</cas:memberOf>');
    expect(body).toContain('<cas:memberOf>91330106MA2DEMAW1X</cas:memberOf>');
    expect(body).toContain('<cas:affiliation>mentor@91330106MA2DEMAW1X</cas:affiliation>');
    expect(body).toContain('<cas:name>张兰</cas:name>');
    // Replay: the same ticket a second time is refused.
    const replay = await validate('/cas/p3/serviceValidate', ticket, service);
    expect(replay).toContain('<cas:authenticationFailure code="INVALID_TICKET">');
  });

  it('answers JSON with format=JSON on /cas/serviceValidate, success and failure', async () => {
    const service = 'https://grades.example.edu.cn/';
    const ticket = await ticketFor(service);
    const ok = JSON.parse(await validate('/cas/serviceValidate', ticket, service, 'JSON'));
    expect(ok.serviceResponse.authenticationSuccess.user).toBe('zhanglan');
    expect(ok.serviceResponse.authenticationSuccess.attributes.memberOf).toEqual(['3133010103', '4133010101', '91330106MA2DEMAW1X']);
    expect(ok.serviceResponse.authenticationSuccess.attributes.role).toEqual(['teacher', 'mentor']);
    const again = JSON.parse(await validate('/cas/serviceValidate', ticket, service, 'JSON'));
    expect(again.serviceResponse.authenticationFailure.code).toBe('INVALID_TICKET');
  });

  it('refuses forged tickets with INVALID_TICKET', async () => {
    const service = 'https://grades.example.edu.cn/';
    for (const forged of ['ST-1-abcdefghij-cas01', `ST-${randomBytes(24).toString('base64url')}`, 'PT-123', 'TGT-1']) {
      expect(await validate('/cas/p3/serviceValidate', forged, service)).toContain('code="INVALID_TICKET"');
    }
  });

  it('refuses an unregistered service at login and at validation with INVALID_SERVICE', async () => {
    const login = await fetch(`${base}/cas/login?service=${encodeURIComponent('https://evil.example.com/cb')}`);
    expect(login.status).toBe(400);
    expect(await login.text()).toContain('INVALID_SERVICE');
    expect((await casLogin('https://grades.example.edu.cn.evil.com/')).status).toBe(400);
    expect(await validate('/cas/serviceValidate', 'ST-x', 'https://evil.example.com/cb')).toContain('code="INVALID_SERVICE"');
  });

  it('C37: a reordered/decoded service string fails with INVALID_SERVICE; the identical string succeeds', async () => {
    const loginService = c37LoginService();
    expect(loginService).toBe(`${RP}/auth/cas/callback?next=%2Fgrades&lang=zh-CN`);
    const rebuilt = c37RebuiltService();
    const first = await ticketFor(loginService);
    const mismatch = await validate('/cas/p3/serviceValidate', first, rebuilt);
    expect(mismatch).toContain('code="INVALID_SERVICE"');
    // The attempt consumed the ticket (single validation attempt, CAS 3.0).
    expect(await validate('/cas/p3/serviceValidate', first, loginService)).toContain('code="INVALID_TICKET"');
    // A client that strips only the ticket parameter textually from its callback validates with the identical string.
    const res = await casLogin(loginService);
    const callback = res.headers.get('location')!;
    expect(callback).toMatch(/^https:\/\/hub\.example\.edu\.cn\/auth\/cas\/callback\?next=%2Fgrades&lang=zh-CN&ticket=ST-/);
    const service = serviceFromCallback(callback);
    expect(service).toBe(loginService);
    const ticket = new URL(callback).searchParams.get('ticket')!;
    expect(await validate('/cas/p3/serviceValidate', ticket, service)).toContain('<cas:user>zhanglan</cas:user>');
  });

  it('refuses wrong passwords without issuing a ticket and shows the zh-CN-first form', async () => {
    const res = await casLogin('https://grades.example.edu.cn/', 'zhanglan', 'wrong');
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('用户名或密码错误 / Wrong username or password');
    expect((await casLogin('https://grades.example.edu.cn/', 'nobody', 'x')).status).toBe(401);
    const form = await fetch(`${base}/cas/login?service=${encodeURIComponent('https://grades.example.edu.cn/a?b=1&c=%2F')}`);
    expect(await form.text()).toContain('value="https://grades.example.edu.cn/a?b=1&amp;c=%2F"');
  });

  it('expires tickets after the configured lifetime (10 s default)', async () => {
    let clock = 1_000_000;
    const { authenticator } = loadTestDirectory(USERS);
    const cas = createCas({ authenticator, services: [{ name: 'g', url: 'https://grades.example.edu.cn/' }], now: () => clock });
    const identity = authenticator.find('liwei')!;
    const fresh = cas.issue('https://grades.example.edu.cn/', identity);
    const stale = cas.issue('https://grades.example.edu.cn/', identity);
    clock += 9_999;
    expect(cas.validate(fresh, 'https://grades.example.edu.cn/').ok).toBe(true);
    clock += 1;
    expect(cas.validate(stale, 'https://grades.example.edu.cn/')).toMatchObject({ ok: false, code: 'INVALID_TICKET' });
    expect(appendTicket('https://a.example/x#frag', 'ST-1')).toBe('https://a.example/x?ticket=ST-1');
  });

  it('logout redirects only to registered services', async () => {
    const ok = await fetch(`${base}/cas/logout?service=${encodeURIComponent('https://grades.example.edu.cn/')}`, { redirect: 'manual' });
    expect(ok.status).toBe(303);
    const open = await fetch(`${base}/cas/logout?service=${encodeURIComponent('https://evil.example.com/')}`, { redirect: 'manual' });
    expect(open.status).toBe(200);
    expect(await open.text()).toContain('您已退出');
  });
});

describe('OpenID Provider', () => {
  it('publishes discovery with the exact issuer, code flow only and PKCE S256', async () => {
    const doc = await (await fetch(`${base}/.well-known/openid-configuration`)).json() as Record<string, string | string[]>;
    expect(doc.issuer).toBe(base);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.response_types_supported).toEqual(['code']);
    expect(doc.authorization_endpoint).toBe(`${base}/oidc/auth`);
    expect(doc.token_endpoint).toBe(`${base}/oidc/token`);
    expect(doc.jwks_uri).toBe(`${base}/oidc/jwks`);
    const jwks = await (await fetch(String(doc.jwks_uri))).json() as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]!.d).toBeUndefined();
  });

  it('refuses an authorization request without PKCE', async () => {
    const q = new URLSearchParams({ client_id: 'grades-app', response_type: 'code', scope: 'openid', redirect_uri: 'https://grades.example.edu.cn/callback', state: 's' });
    const res = await fetch(`${base}/oidc/auth?${q}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('runs an authorization-code round trip with PKCE S256, signing in through the interaction', async () => {
    const jar = new Map<string, string>();
    const keep = (res: Response) => {
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const [name, ...value] = pair!.split('=');
        jar.set(name!, value.join('='));
      }
    };
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const go = async (url: string, init: RequestInit = {}) => {
      const res = await fetch(url.startsWith('http') ? url : `${base}${url}`, { redirect: 'manual', ...init, headers: { ...(init.headers as Record<string, string>), cookie: cookie() } });
      keep(res);
      return res;
    };
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const q = new URLSearchParams({
      client_id: 'grades-app', response_type: 'code', scope: 'openid profile affiliation', redirect_uri: 'https://grades.example.edu.cn/callback',
      state: 'st-1', nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256',
    });
    const auth = await go(`/oidc/auth?${q}`);
    expect(auth.status).toBe(303);
    const interaction = auth.headers.get('location')!;
    expect(interaction).toMatch(/^\/oidc\/interaction\//);
    const page = await go(interaction);
    expect(page.status).toBe(200);
    const action = /action="([^"]+)"/.exec(await page.text())![1]!;
    const login = await go(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=zhanglan&password=Lan-2026-teach' });
    expect(login.status).toBe(303);
    let next = login.headers.get('location')!;
    let final: URL | undefined;
    for (let i = 0; i < 5 && !final; i++) {
      const res = await go(next);
      expect([302, 303]).toContain(res.status);
      next = res.headers.get('location')!;
      if (next.startsWith('https://grades.example.edu.cn/callback')) final = new URL(next);
    }
    expect(final!.searchParams.get('state')).toBe('st-1');
    const code = final!.searchParams.get('code')!;
    const basic = Buffer.from(`grades-app:${CLIENT_SECRET}`).toString('base64');
    const tokenRequest = (body: Record<string, string>) => fetch(`${base}/oidc/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'https://grades.example.edu.cn/callback', ...body }).toString(),
    });
    const tokens = await (await tokenRequest({ code_verifier: verifier })).json() as Record<string, string>;
    expect(tokens.token_type).toBe('Bearer');
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${base}/oidc/jwks`)), { issuer: base, audience: 'grades-app' });
    expect(payload.sub).toBe('zhanglan');
    expect(payload.nonce).toBe('n-1');
    // The code is single-use.
    const replay = await tokenRequest({ code_verifier: verifier });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
  });
});

describe('the demo hub', () => {
  let hub: Hub;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vochub-sso-demo-'));
    hub = await createHub({ configPath: resolve(HERE, '../../examples/demo/vochub.yaml'), env: { ...process.env, VOCHUB_DATA: dir }, logger: silentLogger, background: false });
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves discovery and the CAS endpoints publicly at the root, refusing forged tickets', async () => {
    const api = await buildApi(hub);
    const discovery = await api.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    expect(discovery.statusCode).toBe(200);
    expect(discovery.json().code_challenge_methods_supported).toEqual(['S256']);
    expect(discovery.json().issuer).toBe('http://127.0.0.1:8080');
    const forged = await api.inject({ method: 'GET', url: `/cas/p3/serviceValidate?ticket=ST-forged&service=${encodeURIComponent('http://127.0.0.1:8090/')}&format=JSON` });
    expect(forged.json().serviceResponse.authenticationFailure.code).toBe('INVALID_TICKET');
    expect((await api.inject({ method: 'GET', url: '/cas/login' })).statusCode).toBe(200);
    // The API itself still needs a key.
    expect((await api.inject({ method: 'GET', url: '/api/v1/members' })).statusCode).toBe(401);
    await api.close();
  });
});
