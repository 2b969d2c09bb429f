// The hub as OpenID Provider on oidc-provider (certified; no hand-written OIDC). Issuer = the hub's public
// base URL, exactly; discovery therefore at <issuer>/.well-known/openid-configuration as OIDC Discovery
// requires, and every other endpoint under /oidc/* (configured routes, the provider is mounted at root).
// Authorization code only, PKCE S256 required for every client.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import type { Authenticator } from './directory.ts';
import { PAGE_HEADERS, loginPage, readForm } from './html.ts';

export interface OidcClientConfig {
  clientId: string;
  clientSecret?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

export interface OidcOptions {
  issuer: string;
  authenticator: Authenticator;
  clients: OidcClientConfig[];
  /** Private JWKS JSON (from a secret reference); absent → generated once into `dataDir`. */
  jwks?: string;
  cookieKeys?: string;
  dataDir: string;
}

async function loadOrCreate(file: string, create: () => Promise<string>): Promise<string> {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const text = await create();
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
  return text;
}

export async function createOidc(options: OidcOptions) {
  const dir = join(options.dataDir, 'sso');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const jwks = JSON.parse(options.jwks ?? await loadOrCreate(join(dir, 'jwks.json'), async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    return JSON.stringify({ keys: [{ ...jwk, kid: `vochub-${Date.now().toString(36)}`, alg: 'RS256', use: 'sig' }] });
  })) as { keys: Record<string, unknown>[] };
  const cookieKeys = (options.cookieKeys ?? await loadOrCreate(join(dir, 'cookie-keys'), async () => randomBytes(32).toString('base64url')))
    .split(',').map((k) => k.trim()).filter(Boolean);

  const secure = options.issuer.startsWith('https://');
  const provider = new Provider(options.issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret ? { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    jwks,
    cookies: { keys: cookieKeys, long: { signed: true, httpOnly: true, sameSite: 'lax', secure }, short: { signed: true, httpOnly: true, sameSite: 'lax', secure } },
    pkce: { required: () => true },
    // Short-lived artefacts; sessions last a working day (seconds).
    ttl: { AuthorizationCode: 60, Interaction: 600, AccessToken: 600, IdToken: 600, Session: 8 * 3600, Grant: 8 * 3600 },
    responseTypes: ['code'],
    scopes: ['openid', 'profile', 'email', 'affiliation'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'], affiliation: ['member_affiliations'] },
    features: { devInteractions: { enabled: false } },
    routes: {
      authorization: '/oidc/auth', token: '/oidc/token', jwks: '/oidc/jwks', userinfo: '/oidc/me',
      end_session: '/oidc/session/end', revocation: '/oidc/token/revocation', introspection: '/oidc/token/introspection',
      pushed_authorization_request: '/oidc/request', registration: '/oidc/reg', code_verification: '/oidc/device',
      device_authorization: '/oidc/device/auth', backchannel_authentication: '/oidc/backchannel', challenge: '/oidc/challenge',
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/oidc/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, sub: string) {
      const identity = options.authenticator.find(sub);
      if (!identity) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, name: identity.name, email: identity.email, member_affiliations: identity.affiliations };
        },
      };
    },
    // Registered clients are the group's own applications: consent is implied, so the grant is made here
    // instead of showing a consent screen (the documented oidc-provider pattern for first-party clients).
    async loadExistingGrant(ctx: { oidc: { provider: Provider; client: { clientId: string }; session: { accountId: string; grantIdFor(id: string): string | undefined }; result?: { consent?: { grantId?: string } }; params: { scope?: string } } }) {
      const oidc = ctx.oidc;
      const existing = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
      const GrantClass = oidc.provider.Grant as unknown as { find(id: string): Promise<unknown> } & Provider['Grant'];
      if (existing) return GrantClass.find(existing);
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope(String(oidc.params.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
  });
  provider.proxy = true;
  const callback = provider.callback();

  async function routes(app: FastifyInstance): Promise<void> {
    const forward = async (request: { raw: import('node:http').IncomingMessage }, reply: { hijack(): void; raw: import('node:http').ServerResponse }) => {
      reply.hijack();
      callback(request.raw, reply.raw);
    };
    app.get('/.well-known/openid-configuration', { schema: { hide: true } }, forward);
    app.all('/oidc/*', { schema: { hide: true } }, forward);

    app.get('/oidc/interaction/:uid', { schema: { hide: true } }, async (request, reply) => {
      const details = await provider.interactionDetails(request.raw, reply.raw).catch(() => undefined);
      if (!details) return reply.code(400).headers(PAGE_HEADERS).send('<!doctype html><p>登录会话已失效，请返回应用重试 / The sign-in session expired; go back to the application and retry.</p>');
      return reply.code(200).headers(PAGE_HEADERS).send(loginPage({ action: `/oidc/interaction/${details.uid}/login` }));
    });
    app.post('/oidc/interaction/:uid/login', { schema: { hide: true } }, async (request, reply) => {
      const details = await provider.interactionDetails(request.raw, reply.raw).catch(() => undefined);
      if (!details) return reply.code(400).headers(PAGE_HEADERS).send('<!doctype html><p>登录会话已失效 / The sign-in session expired.</p>');
      const form = await readForm(request.raw);
      const identity = form ? await options.authenticator.authenticate(form.get('username') ?? '', form.get('password') ?? '') : null;
      if (!identity) {
        return reply.code(401).headers(PAGE_HEADERS).send(loginPage({ action: `/oidc/interaction/${details.uid}/login`, error: '用户名或密码错误 / Wrong username or password' }));
      }
      reply.hijack();
      await provider.interactionFinished(request.raw, reply.raw, { login: { accountId: identity.sub } }, { mergeWithLastSubmission: false });
    });
  }

  return { provider, routes };
}
