// SSO capability plugin: the hub as OpenID Provider (/.well-known/openid-configuration, /oidc/*) and CAS 3.0
// server (/cas/*). Both are PUBLIC protocol endpoints, mounted at the root through `publicRoutes` (no API key).
import type { FastifyInstance } from 'fastify';
import { VochubError } from '../../core/errors.ts';
import type { PluginFactory, PluginInstance } from '../../core/plugins/types.ts';
import { createCas, type CasService } from './src/cas.ts';
import { loadTestDirectory } from './src/directory.ts';
import type { OidcClientConfig } from './src/oidc.ts';

export interface SsoConfig {
  issuer: string;
  users: string;
  cas?: { ticketTtlSeconds?: number; services?: CasService[] };
  oidc?: { jwks?: string; cookieKeys?: string; clients?: OidcClientConfig[] };
}

const factory: PluginFactory<SsoConfig> = async (ctx): Promise<PluginInstance> => {
  const { authenticator, problems } = loadTestDirectory(ctx.config.users);
  for (const p of problems) ctx.logger.warn({ code: p.code, index: p.index }, p.message);
  const issuer = ctx.config.issuer.replace(/\/+$/, '');
  if (issuer !== ctx.config.issuer) {
    throw new VochubError('SSO_ISSUER_INVALID', '签发者不得以 / 结尾 / issuer must not end with a slash (it is compared exactly)', { status: 400 });
  }
  const cas = createCas({ authenticator, services: ctx.config.cas?.services ?? [], ticketTtlSeconds: ctx.config.cas?.ticketTtlSeconds });
  // oidc-provider is loaded only where the protocol is served (the API process): one-shot CLI commands
  // open the hub too and must not pay for it or print its runtime warnings.
  const openOidc = async () => {
    const { createOidc } = await import('./src/oidc.ts');
    return createOidc({
      issuer,
      authenticator,
      clients: ctx.config.oidc?.clients ?? [],
      jwks: ctx.config.oidc?.jwks,
      cookieKeys: ctx.config.oidc?.cookieKeys,
      dataDir: ctx.dataDir,
    });
  };
  return {
    async health() {
      return { ok: problems.length === 0, detail: problems.length ? `${problems.length} SSO_DIRECTORY_INVALID` : 'test directory' };
    },
    async publicRoutes(app: FastifyInstance) {
      // Protocol bodies (urlencoded forms, OIDC token requests) stay unread: oidc-provider and our form
      // reader take them from the raw stream; the API's lossless JSON parser does not apply here.
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      await cas.routes(app);
      await (await openOidc()).routes(app);
    },
  };
};

export default factory;
