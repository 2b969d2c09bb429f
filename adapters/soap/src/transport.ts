// The HTTP side of a SOAP call, handed to the `soap` client as its httpClient: one endpoint only,
// per-attempt timeout, retries with exponential backoff and jitter on outages (connect errors,
// timeouts, 502/503/504), a circuit breaker, and responses with a DOCTYPE refused before parsing (C31).
import { VochubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { CircuitBreaker } from './breaker.ts';
import { hasDoctype } from './xml-guard.ts';

export interface TransportOptions {
  endpoint: string;
  timeoutMs: number;
  retries: number;
  backoff: { baseMs: number; maxMs: number };
  breaker: CircuitBreaker;
  logger?: Logger;
}

export interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  attempts: number;
  requestHeaders: Record<string, string>;
}

const RETRY_STATUS = new Set([502, 503, 504]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Full jitter: a random wait in [0, min(max, base·2^attempt)]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

function outage(code: string, message: string, endpoint: string, cause?: unknown): VochubError {
  return new VochubError(code, message, { status: 502, details: { endpoint }, cause });
}

export class SoapTransport {
  /** The last exchange, for the caller's result (rawResponse, headers, attempts). */
  last: Exchange | undefined;

  constructor(private readonly options: TransportOptions) {}

  /** The `soap` IHttpClient entry point. */
  request(url: string, data: unknown, callback: (error: unknown, res?: unknown, body?: unknown) => void, exheaders?: Record<string, string>): void {
    this.send(url, String(data ?? ''), exheaders ?? {}).then(
      (exchange) => callback(null, { status: exchange.status, headers: exchange.headers, data: exchange.body }, exchange.body),
      (error: unknown) => callback(error),
    );
  }

  private async send(url: string, body: string, headers: Record<string, string>): Promise<Exchange> {
    const { endpoint, breaker, retries, timeoutMs, backoff, logger } = this.options;
    if (url !== endpoint) {
      // soap resolves the endpoint from the WSDL unless told otherwise: only the configured one may be called.
      throw new VochubError('SOAP_ENDPOINT_REFUSED', `不是配置的端点 / not the configured endpoint: ${url}`, { status: 500, details: { url, endpoint } });
    }
    const requestHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) requestHeaders[k] = String(v);
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, backoff.baseMs, backoff.maxMs));
      breaker.admit(endpoint);
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers: requestHeaders, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      } catch (error) {
        breaker.failure();
        const timedOut = (error as Error).name === 'TimeoutError';
        lastError = timedOut
          ? outage('SOAP_TIMEOUT', `SOAP 调用超时（${timeoutMs} ms） / SOAP call timed out after ${timeoutMs} ms`, endpoint, error)
          : outage('SOAP_UNREACHABLE', `无法连接 SOAP 端点 / cannot reach the SOAP endpoint`, endpoint, error);
        logger?.warn({ endpoint, attempt: attempt + 1, code: (lastError as VochubError).code }, 'soap attempt failed');
        continue;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        breaker.failure();
        lastError = outage('SOAP_TIMEOUT', `读取响应超时 / timed out reading the response`, endpoint, error);
        continue;
      }
      if (RETRY_STATUS.has(response.status)) {
        breaker.failure();
        lastError = outage('SOAP_HTTP_STATUS', `SOAP 端点返回 HTTP ${response.status} / SOAP endpoint answered HTTP ${response.status}`, endpoint);
        logger?.warn({ endpoint, attempt: attempt + 1, status: response.status }, 'soap attempt failed');
        continue;
      }
      breaker.success();
      const responseHeaders: Record<string, string> = {};
      response.headers.forEach((v, k) => (responseHeaders[k] = v));
      const exchange: Exchange = { status: response.status, headers: responseHeaders, body: text, attempts: attempt + 1, requestHeaders };
      this.last = exchange;
      if (hasDoctype(text)) {
        // Not handed to any parser: the body is dropped here, so entity content can reach no log or record.
        exchange.body = '';
        throw new VochubError('SOAP_XML_DOCTYPE', `响应含 DOCTYPE/实体声明，已拒绝 / response with a DOCTYPE or entity declaration refused`, {
          status: 502,
          details: { endpoint, where: 'response' },
        });
      }
      return exchange;
    }
    throw lastError;
  }
}
