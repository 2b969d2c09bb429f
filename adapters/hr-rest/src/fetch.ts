// Outbound HTTP for hr-rest: every URL (including ones the peer hands back in Link headers or bodies)
// is checked against the configured allow-list first; timeouts per attempt; retries with exponential
// backoff and full jitter on outages (network errors, timeouts, 429, 5xx); auth header from a secret.
import { VochubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';

export interface FetchSettings {
  allowedHosts: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
  backoff: { baseMs: number; maxMs: number };
  logger?: Logger;
}

export function assertAllowed(url: string, allowedHosts: string[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new VochubError('HR_REST_URL_REFUSED', `无效的 URL / invalid URL: ${url}`, { status: 400, details: { url } });
  }
  const allowed = (parsed.protocol === 'https:' || parsed.protocol === 'http:') && (allowedHosts.includes(parsed.host) || allowedHosts.includes(parsed.hostname));
  if (!allowed) {
    throw new VochubError('HR_REST_URL_REFUSED', `URL 不在允许列表中 / URL host not in allowedHosts: ${parsed.host}`, { status: 400, details: { host: parsed.host } });
  }
  return parsed;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export interface FetchedPage {
  status: number;
  text: string;
  link?: string;
  attempts: number;
}

export async function fetchPage(url: string, settings: FetchSettings): Promise<FetchedPage> {
  assertAllowed(url, settings.allowedHosts);
  let lastError: unknown;
  for (let attempt = 0; attempt <= settings.retries; attempt++) {
    if (attempt > 0) {
      const wait = Math.floor(Math.random() * Math.min(settings.backoff.maxMs, settings.backoff.baseMs * 2 ** (attempt - 1)));
      await new Promise((r) => setTimeout(r, wait));
    }
    try {
      const response = await fetch(url, { headers: { accept: 'application/json', ...settings.headers }, signal: AbortSignal.timeout(settings.timeoutMs), redirect: 'error' });
      const text = await response.text();
      if (RETRY_STATUS.has(response.status)) {
        lastError = new VochubError('HR_REST_HTTP_STATUS', `HR 接口返回 HTTP ${response.status} / the HR API answered HTTP ${response.status}`, { status: 502, details: { status: response.status } });
        settings.logger?.warn({ attempt: attempt + 1, status: response.status }, 'hr-rest attempt failed');
        continue;
      }
      if (response.status >= 400) {
        throw new VochubError('HR_REST_HTTP_STATUS', `HR 接口拒绝请求 HTTP ${response.status} / the HR API refused the request with HTTP ${response.status}`, { status: 502, details: { status: response.status } });
      }
      const link = response.headers.get('link') ?? undefined;
      return { status: response.status, text, attempts: attempt + 1, ...(link === undefined ? {} : { link }) };
    } catch (error) {
      if (error instanceof VochubError) throw error;
      const timedOut = (error as Error).name === 'TimeoutError';
      lastError = new VochubError(timedOut ? 'HR_REST_TIMEOUT' : 'HR_REST_UNREACHABLE', timedOut ? `HR 接口超时 / the HR API timed out after ${settings.timeoutMs} ms` : '无法连接 HR 接口 / cannot reach the HR API', { status: 502, cause: error });
      settings.logger?.warn({ attempt: attempt + 1, code: (lastError as VochubError).code }, 'hr-rest attempt failed');
    }
  }
  throw lastError;
}

/** RFC 8288 Link header → the target of rel="next", resolved against the request URL. */
export function nextLink(header: string | undefined, base: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (m && /(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return undefined;
}
