// Delivery to a government web service over SOAP (wsdl/reporting.wsdl or a WSDL the endpoint config
// names, loaded from disk). Retries transient failures with exponential backoff and jitter; after an
// ambiguous failure (connection lost, timeout) it asks QueryFiling before sending again, so a filing
// that did land is never sent twice. The filing key makes the server side idempotent as well.
import { join, resolve } from 'node:path';
import soap from 'soap';
import { VochubError } from '../../../core/errors.ts';
import type { Receipt } from './types.ts';

export const DEFAULT_WSDL = join(import.meta.dirname, '..', 'wsdl', 'reporting.wsdl');

export interface SoapEndpointConfig {
  url: string;
  /** WSDL file (relative to the group config folder); default: the plugin's wsdl/reporting.wsdl. */
  wsdl?: string;
  timeoutMs?: number;
  attempts?: number;
  backoffMs?: number;
  /** WS-Security UsernameToken (secrets as ${env:…} / ${file:…}). */
  username?: string;
  password?: string;
}

export interface FilingDocument {
  name: string;
  mediaType: string;
  sha256: string;
  content: Buffer;
}

export interface Filing {
  filingKey: string;
  definition: string;
  member: string;
  schoolYear: string;
  snapshotHash: string;
  documents: FilingDocument[];
}

export interface DeliveryOutcome {
  receipt: Receipt;
  attempts: number;
}

interface SoapReceipt {
  receiptNumber: string;
  filingKey: string;
  acceptedAt: string | Date;
  alreadyFiled: boolean | string;
}

type SoapClient = soap.Client & {
  SubmitFilingAsync(args: unknown, options?: unknown): Promise<[{ receipt: SoapReceipt }]>;
  QueryFilingAsync(args: unknown, options?: unknown): Promise<[{ found: boolean | string; receipt?: SoapReceipt }]>;
};

/** Refuses endpoints whose host is not on the allow-list (outbound URLs from config are checked). */
export function checkAllowedUrl(url: string, allowedHosts: string[]): void {
  let host: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('protocol');
    host = parsed.hostname;
  } catch {
    throw new VochubError('REPORT_ENDPOINT_NOT_ALLOWED', `报送地址无效 / invalid endpoint URL: ${url}`, { status: 400 });
  }
  if (!allowedHosts.includes(host)) {
    throw new VochubError('REPORT_ENDPOINT_NOT_ALLOWED', `报送地址的主机 ${host} 不在 allowedHosts 中 / endpoint host ${host} is not in allowedHosts`, { status: 400 });
  }
}

function toReceipt(r: SoapReceipt, channel: string): Receipt {
  const acceptedAt = r.acceptedAt instanceof Date ? r.acceptedAt.toISOString() : String(r.acceptedAt);
  return { receiptNumber: String(r.receiptNumber), filingKey: String(r.filingKey), acceptedAt, channel, alreadyFiled: r.alreadyFiled === true || r.alreadyFiled === 'true' };
}

/** A SOAP Client fault (soap:Client / Sender) is the server refusing the content: retrying cannot help. */
function isPermanent(error: unknown): boolean {
  const fault = (error as { root?: { Envelope?: { Body?: { Fault?: { faultcode?: string; Code?: { Value?: string } } } } } }).root?.Envelope?.Body?.Fault;
  const code = String(fault?.faultcode ?? fault?.Code?.Value ?? '');
  return /Client|Sender/.test(code);
}

function describe(error: unknown): string {
  const fault = (error as { root?: { Envelope?: { Body?: { Fault?: { faultstring?: string } } } } }).root?.Envelope?.Body?.Fault;
  if (fault?.faultstring) return String(fault.faultstring);
  const e = error as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message ?? ''}` : String(e.message ?? error);
}

export async function deliverBySoap(
  endpoint: SoapEndpointConfig,
  filing: Filing,
  options: { baseDir: string; channel: string; onAttempt?: (attempt: number, error?: string) => void; sleep?: (ms: number) => Promise<void> },
): Promise<DeliveryOutcome> {
  const wsdl = endpoint.wsdl ? resolve(options.baseDir, endpoint.wsdl) : DEFAULT_WSDL;
  const timeout = endpoint.timeoutMs ?? 30_000;
  const attempts = Math.max(1, endpoint.attempts ?? 4);
  const backoff = endpoint.backoffMs ?? 1000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let client: SoapClient;
  try {
    client = (await soap.createClientAsync(wsdl, { endpoint: endpoint.url, disableCache: true, wsdl_options: { timeout } })) as SoapClient;
  } catch (error) {
    throw new VochubError('REPORT_WSDL_INVALID', `无法加载 WSDL / cannot load the WSDL ${wsdl}: ${describe(error)}`, { status: 500 });
  }
  if (endpoint.username && endpoint.password) client.setSecurity(new soap.WSSecurity(endpoint.username, endpoint.password, { passwordType: 'PasswordDigest', hasTimeStamp: true }));

  const request = {
    filingKey: filing.filingKey,
    definition: filing.definition,
    member: filing.member,
    schoolYear: filing.schoolYear,
    snapshotHash: filing.snapshotHash,
    submittedAt: new Date().toISOString(),
    document: filing.documents.map((d) => ({ name: d.name, mediaType: d.mediaType, sha256: d.sha256, content: d.content.toString('base64') })),
  };
  let ambiguous = false;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      if (ambiguous) {
        // The last try may have landed: ask before filing again.
        const [found] = await client.QueryFilingAsync({ filingKey: filing.filingKey }, { timeout });
        if ((found.found === true || found.found === 'true') && found.receipt) return { receipt: toReceipt(found.receipt, options.channel), attempts: attempt };
      }
      const [result] = await client.SubmitFilingAsync(request, { timeout });
      options.onAttempt?.(attempt);
      return { receipt: toReceipt(result.receipt, options.channel), attempts: attempt };
    } catch (error) {
      lastError = describe(error);
      options.onAttempt?.(attempt, lastError);
      if (isPermanent(error)) {
        throw new VochubError('REPORT_DELIVERY_REFUSED', `报送被对方拒绝 / the endpoint refused the filing: ${lastError}`, { status: 422, details: { attempts: attempt } });
      }
      const status = (error as { response?: { status?: number } }).response?.status;
      ambiguous = status === undefined || status >= 500;
      if (attempt < attempts) await sleep(Math.round(backoff * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
    }
  }
  throw new VochubError('REPORT_DELIVERY_FAILED', `多次重试后报送仍失败 / delivery failed after ${attempts} attempts: ${lastError}`, { status: 502, details: { attempts } });
}
