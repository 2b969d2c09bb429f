// CAS 3.0 server: /cas/login, /cas/logout, /cas/serviceValidate, /cas/p3/serviceValidate (XML, and JSON with
// format=JSON). Service tickets are single-use, short-lived and bound to the EXACT service string given at
// login (C37): no normalising, decoding or reordering on either side, so a relying party that rebuilds its
// URL differently fails loudly instead of a ticket being accepted for a look-alike service.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Authenticator, SsoIdentity } from './directory.ts';
import { PAGE_HEADERS, escapeHtml, loginPage, readForm } from './html.ts';

export interface CasService {
  name: string;
  url: string;
}

export interface CasOptions {
  authenticator: Authenticator;
  services: CasService[];
  ticketTtlSeconds?: number;
  /** Injected clock (ms) so expiry is testable without waiting. */
  now?: () => number;
}

export type CasErrorCode = 'INVALID_REQUEST' | 'INVALID_TICKET' | 'INVALID_SERVICE' | 'INTERNAL_ERROR';

interface Ticket {
  service: string;
  identity: SsoIdentity;
  expires: number;
}

/** Registered service = same origin and a path under the registered prefix. */
export function matchService(service: string, registered: CasService[]): CasService | undefined {
  let url: URL;
  try {
    url = new URL(service);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  return registered.find((r) => {
    const prefix = new URL(r.url);
    return prefix.origin === url.origin && url.pathname.startsWith(prefix.pathname);
  });
}

/** Appends `ticket` to the service string as given, without re-encoding anything before it. */
export function appendTicket(service: string, ticket: string): string {
  const hash = service.indexOf('#');
  const base = hash === -1 ? service : service.slice(0, hash);
  return `${base}${base.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}`;
}

/** What a CAS client must validate with: its callback URL with ONLY the ticket parameter removed, textually (C37). */
export function serviceFromCallback(callbackUrl: string): string {
  const q = callbackUrl.indexOf('?');
  if (q === -1) return callbackUrl;
  const kept = callbackUrl.slice(q + 1).split('&').filter((p) => !p.startsWith('ticket='));
  return kept.length ? `${callbackUrl.slice(0, q)}?${kept.join('&')}` : callbackUrl.slice(0, q);
}

const xml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** CAS attributes: one value or a list per name (multi-valued when a person belongs to several members). */
export function casAttributes(identity: SsoIdentity): Record<string, string[]> {
  const attrs: Record<string, string[]> = {};
  if (identity.name) attrs.name = [identity.name];
  if (identity.email) attrs.email = [identity.email];
  attrs.memberOf = [...new Set(identity.affiliations.map((a) => a.member))];
  attrs.affiliation = identity.affiliations.map((a) => `${a.role}@${a.member}`);
  attrs.role = [...new Set(identity.affiliations.map((a) => a.role))];
  return attrs;
}

export type ValidationResult = { ok: true; identity: SsoIdentity } | { ok: false; code: CasErrorCode; description: string };

export function createCas(options: CasOptions) {
  const ttl = (options.ticketTtlSeconds ?? 10) * 1000;
  const now = options.now ?? Date.now;
  const tickets = new Map<string, Ticket>();

  const sweep = () => {
    const t = now();
    for (const [id, ticket] of tickets) if (ticket.expires <= t) tickets.delete(id);
  };

  function issue(service: string, identity: SsoIdentity): string {
    sweep();
    const id = `ST-${randomBytes(24).toString('base64url')}`;
    tickets.set(id, { service, identity, expires: now() + ttl });
    return id;
  }

  function validate(ticket: string | undefined, service: string | undefined): ValidationResult {
    if (!ticket || !service) return { ok: false, code: 'INVALID_REQUEST', description: 'ticket 与 service 均为必填 / ticket and service are both required' };
    if (!matchService(service, options.services)) return { ok: false, code: 'INVALID_SERVICE', description: `未注册的服务 / service is not registered` };
    if (!ticket.startsWith('ST-')) return { ok: false, code: 'INVALID_TICKET', description: `票据 ${ticket} 无法识别 / ticket ${ticket} not recognized` };
    const found = tickets.get(ticket);
    // Single use: whatever the outcome, the ticket is gone after one validation attempt (CAS 3.0 §3.1.1).
    tickets.delete(ticket);
    if (!found || found.expires <= now()) return { ok: false, code: 'INVALID_TICKET', description: `票据 ${ticket} 无效、已使用或已过期 / ticket ${ticket} not recognized, already used or expired` };
    if (found.service !== service) return { ok: false, code: 'INVALID_SERVICE', description: `票据 ${ticket} 与所给服务不符 / ticket ${ticket} does not match supplied service` };
    return { ok: true, identity: found.identity };
  }

  function render(result: ValidationResult, format: 'XML' | 'JSON', attributes: boolean): { type: string; body: string } {
    if (format === 'JSON') {
      const body = result.ok
        ? { serviceResponse: { authenticationSuccess: { user: result.identity.sub, ...(attributes ? { attributes: casAttributes(result.identity) } : {}) } } }
        : { serviceResponse: { authenticationFailure: { code: result.code, description: result.description } } };
      return { type: 'application/json; charset=utf-8', body: JSON.stringify(body) };
    }
    const inner = result.ok
      ? `  <cas:authenticationSuccess>\n    <cas:user>${xml(result.identity.sub)}</cas:user>\n${attributes
          ? `    <cas:attributes>\n${Object.entries(casAttributes(result.identity)).flatMap(([k, vs]) => vs.map((v) => `      <cas:${k}>${xml(v)}</cas:${k}>\n`)).join('')}    </cas:attributes>\n`
          : ''}  </cas:authenticationSuccess>`
      : `  <cas:authenticationFailure code="${result.code}">${xml(result.description)}</cas:authenticationFailure>`;
    return { type: 'application/xml; charset=utf-8', body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">\n${inner}\n</cas:serviceResponse>\n` };
  }

  const page = (reply: FastifyReply, status: number, html: string) => reply.code(status).headers(PAGE_HEADERS).send(html);

  async function routes(app: FastifyInstance): Promise<void> {
    app.get('/cas/login', { schema: { hide: true } }, async (request, reply) => {
      const service = (request.query as Record<string, string | undefined>).service;
      if (service !== undefined && !matchService(service, options.services)) {
        return page(reply, 400, `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>未注册的应用</title><p>该应用未在集团统一认证中注册 / This application is not registered (INVALID_SERVICE).</p></html>`);
      }
      return page(reply, 200, loginPage({ action: '/cas/login', hidden: service !== undefined ? { service } : {} }));
    });

    app.post('/cas/login', { schema: { hide: true } }, async (request, reply) => {
      const form = await readForm(request.raw);
      if (!form) return page(reply, 413, '<!doctype html><p>请求过大 / Request too large</p>');
      const service = form.get('service') ?? undefined;
      if (service !== undefined && !matchService(service, options.services)) {
        return page(reply, 400, '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><p>该应用未注册 / This application is not registered (INVALID_SERVICE).</p></html>');
      }
      const identity = await options.authenticator.authenticate(form.get('username') ?? '', form.get('password') ?? '');
      if (!identity) {
        return page(reply, 401, loginPage({ action: '/cas/login', hidden: service !== undefined ? { service } : {}, error: '用户名或密码错误 / Wrong username or password' }));
      }
      if (service === undefined) return page(reply, 200, `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><p>已登录：${escapeHtml(identity.name ?? identity.sub)} / Signed in.</p></html>`);
      return reply.code(303).headers({ 'cache-control': 'no-store' }).redirect(appendTicket(service, issue(service, identity)), 303);
    });

    const validateRoute = (attributes: boolean) => async (request: { query: unknown }, reply: FastifyReply) => {
      const q = request.query as Record<string, string | undefined>;
      const format = q.format?.toUpperCase() === 'JSON' ? 'JSON' : 'XML';
      const out = render(validate(q.ticket, q.service), format, attributes);
      return reply.code(200).headers({ 'content-type': out.type, 'cache-control': 'no-store' }).send(out.body);
    };
    // CAS 3.0 returns attributes on both (the /p3 path is the explicit 3.0 one).
    app.get('/cas/serviceValidate', { schema: { hide: true } }, validateRoute(true));
    app.get('/cas/p3/serviceValidate', { schema: { hide: true } }, validateRoute(true));

    app.get('/cas/logout', { schema: { hide: true } }, async (request, reply) => {
      const service = (request.query as Record<string, string | undefined>).service;
      // No SSO session (TGT) exists yet in this slice: logout only redirects to a REGISTERED service (no open redirect).
      if (service !== undefined && matchService(service, options.services)) return reply.code(303).redirect(service, 303);
      return page(reply, 200, '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>已退出</title><p>您已退出统一身份认证 / You have signed out.</p></html>');
    });
  }

  return { issue, validate, render, routes, tickets };
}
