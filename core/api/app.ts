// The hub's HTTP API: fastify with OpenAPI from the route schemas, problem+json errors, API-key
// authentication on everything under /api/v1 and on /metrics.
import fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { authenticate } from '../security/api-keys.ts';
import type { Principal } from '../security/types.ts';
import { requirePermission } from './auth.ts';
import { createMetrics } from './metrics.ts';
import type { ApiMetrics } from './metrics.ts';
import { API_ERRORS, apiError, problemSchema, sendProblem, toProblem } from './problem.ts';
import { registerApiRoutes } from './routes.ts';
import { parseJsonSafe } from '../ingest/json.ts';
import type { HubContext } from './types.ts';
import { audit } from '../security/audit.ts';
import { VochubError } from '../errors.ts';
import type { RouteKit } from '../plugins/types.ts';
import { principalOf } from './auth.ts';
import { scopedMember } from './views.ts';

function routeKit(hub: HubContext): RouteKit {
  return {
    principalOf,
    requirePermission,
    scopedMember,
    audit: async (principal, action, entry) => {
      await audit(hub.store, principal, action, entry);
    },
    error: (code, status, detail) => new VochubError(code, detail, { status }),
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every authenticated route. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    vochubMetrics: ApiMetrics;
  }
}

export const API_VERSION = '1.0.0';
const PUBLIC_SECURITY: Record<string, string[]>[] = [];

export interface BuildApiOptions {
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
}

export async function buildApi(hub: HubContext, options: BuildApiOptions = {}): Promise<FastifyInstance> {
  const app = fastify({
    // Request logs carry the path only: query strings hold CAS tickets, OAuth codes and filter values.
    loggerInstance: hub.logger.child(
      { module: 'api' },
      {
        serializers: {
          req: (req: { method?: string; url?: string; id?: string }) => ({ id: req.id, method: req.method, url: req.url?.split('?')[0] }),
        },
      },
    ),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Request logs carry method, url, status and timing only: fastify's default serializers print no
    // headers, so Authorization / X-Api-Key never reach the log (core/logger.ts redacts them besides).
    // Unknown body fields are refused (400 naming the field), not silently dropped: a caller who sends `pii: true`
    // must learn that it is not how pii:read is granted.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }) as unknown as FastifyInstance;

  // Request bodies are parsed losslessly: a number beyond 2^53−1 (an ID sent as a number) is refused
  // with its path instead of being rounded into somebody else's ID (case C17).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    const parsed = parseJsonSafe(text);
    if (parsed.ok) return done(null, parsed.value);
    const detail = parsed.code === 'JSON_UNSAFE_NUMBER'
      ? parsed.message
      : `请求体不是合法的 JSON / The request body is not valid JSON: ${parsed.message}`;
    done(apiError('REQUEST_INVALID', detail, { reason: parsed.code }), undefined);
  });

  const metrics = createMetrics(hub.store);
  app.decorate('vochubMetrics', metrics);
  app.decorateRequest('principal', null);
  app.addSchema(problemSchema);
  app.addSchema({
    $id: 'Readiness',
    type: 'object',
    properties: {
      ok: { type: 'boolean' },
      checks: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } },
    },
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error, request);
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, toProblem(apiError('NOT_FOUND', `没有这个路由 / No route ${request.method} ${request.url.split('?')[0]}`), request));
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'vochub API',
        version: API_VERSION,
        description: '职教集团集成枢纽 API / Integration hub API of a vocational education group. Errors are application/problem+json (RFC 9457).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer vh_<id>_<secret>' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', {
    schema: {
      summary: 'Liveness: the process answers', tags: ['ops'], security: PUBLIC_SECURITY,
      response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } },
    },
  }, async () => ({ ok: true }));

  app.get('/readyz', {
    schema: {
      summary: 'Readiness: store, bus and plugins are usable', tags: ['ops'], security: PUBLIC_SECURITY,
      response: {
        '2xx': { $ref: 'Readiness#' },
        503: { $ref: 'Readiness#' },
      },
    },
  }, async (_request, reply) => {
    let result: Awaited<ReturnType<HubContext['ready']>>;
    try {
      result = await hub.ready();
    } catch (error) {
      hub.logger.warn({ err: error }, 'readiness check failed');
      result = { ok: false, checks: { hub: { ok: false, detail: 'readiness check threw' } } };
    }
    return reply.code(result.ok ? 200 : 503).send(result);
  });

  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics (needs a key with metrics:read)', tags: ['ops'],
      produces: ['text/plain'],
      response: { 200: { type: 'string' }, 401: { $ref: 'Problem#' }, 403: { $ref: 'Problem#' } },
    },
    onRequest: async (request) => {
      request.principal = await authenticate(hub.store, request.headers);
    },
    preHandler: requirePermission('metrics:read'),
  }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (api) => {
    api.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      request.principal = await authenticate(hub.store, request.headers);
      // Responses carry member data (and, when revealed, PII): never keep them in shared caches.
      reply.header('cache-control', 'no-store');
      reply.header('x-content-type-options', 'nosniff');
    });
    await registerApiRoutes(api, hub);
    // Capability plugins: each an encapsulated child under its own prefix, behind the same authentication.
    const kit = routeKit(hub);
    for (const plugin of hub.plugins ?? []) {
      if (!plugin.instance.routes) continue;
      await api.register(async (scope) => plugin.instance.routes!(scope, kit), { prefix: plugin.prefix });
    }
  }, { prefix: '/api/v1' });

  // Public protocol endpoints of capability plugins (SSO: /.well-known/openid-configuration, /oidc/*, /cas/*):
  // each an encapsulated child at the root, outside the API-key scope above. The plugin authenticates its own callers.
  for (const plugin of hub.plugins ?? []) {
    if (!plugin.instance.publicRoutes) continue;
    await app.register(async (scope) => plugin.instance.publicRoutes!(scope));
  }

  return app;
}

export { API_ERRORS };
