// Public SOAP client API of vochub (adapters/soap): used by the `soap` adapter (reading) and by
// plugins that push to government web services (plugins/reporting). One module, one surface:
//   loadWsdlSet(dirOrFile, options)  → WsdlSet (from disk only, see src/wsdl-set.ts)
//   createSoapClient(options)        → SoapClient { call(operation, args), operations(), version, endpoint }
//   call(...)                        → { result, rawResponse, requestXml, status, attempts, requestHeaders }
// Errors are VochubErrors with stable codes (README.md). The `soap` library builds envelopes and
// parses responses; the WSDL documents reach it from memory and HTTP goes through src/transport.ts.
import soap from 'soap';
import { configError, VochubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { CircuitBreaker, type BreakerOptions } from './src/breaker.ts';
import { withOffset } from './src/datetime.ts';
import { SoapTransport } from './src/transport.ts';
import { loadWsdlSet, type LoadWsdlOptions, type SoapVersion, type WsdlDocument, type WsdlSet } from './src/wsdl-set.ts';

export { loadWsdlSet, CircuitBreaker, withOffset };
export type { LoadWsdlOptions, SoapVersion, WsdlSet, BreakerOptions };
export { hasDoctype, refuseDoctype } from './src/xml-guard.ts';

export interface SoapClientOptions {
  /** A loaded set, or a WSDL file / folder (loaded with `wsdlOptions`). */
  wsdl: WsdlSet | string;
  wsdlOptions?: LoadWsdlOptions;
  /** Endpoint URL; default: the port's soap:address. */
  endpoint?: string;
  /** Service and port of the WSDL to use; default: the first port. */
  service?: string;
  port?: string;
  /** SOAP version override; default: from the port's binding (soap: → 1.1, soap12: → 1.2). */
  version?: SoapVersion;
  /** WS-Security UsernameToken (PasswordText over TLS, or PasswordDigest). Resolve the password from a secret reference. */
  security?: { username: string; password: string; passwordType?: 'PasswordText' | 'PasswordDigest' };
  /** Per-attempt timeout; default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt on outages (never on SOAP faults); default 2. */
  retries?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  /** Breaker options, or a breaker shared between clients of one endpoint. */
  breaker?: BreakerOptions | CircuitBreaker;
  /** Offset given to xs:dateTime values without one (the zone the interface declares); default +08:00. */
  zone?: string;
  logger?: Logger;
}

export interface SoapOperation {
  name: string;
  service: string;
  port: string;
  input: unknown;
  output: unknown;
}

export interface SoapCallResult<T = unknown> {
  result: T;
  rawResponse: string;
  requestXml: string;
  status: number;
  attempts: number;
  requestHeaders: Record<string, string>;
}

export interface SoapClient {
  readonly version: SoapVersion;
  readonly endpoint: string;
  readonly service: string;
  readonly port: string;
  readonly breaker: CircuitBreaker;
  readonly set: WsdlSet;
  operations(): SoapOperation[];
  call<T = unknown>(operation: string, args: unknown): Promise<SoapCallResult<T>>;
}

const VIRTUAL_HOST = 'http://wsdl.vochub.invalid';

/** The set's documents under virtual URLs that only our loader answers, so `soap` can never reach the network. */
function virtualize(set: WsdlSet): { entryUrl: string; urlOf: Map<string, string>; docOf: Map<string, WsdlDocument> } {
  const urlOf = new Map<string, string>();
  const docOf = new Map<string, WsdlDocument>();
  let i = 0;
  for (const doc of set.documents.values()) {
    const url = `${VIRTUAL_HOST}/${i++}/${encodeURIComponent(doc.path.slice(doc.path.lastIndexOf('/') + 1))}`;
    urlOf.set(doc.path, url);
    docOf.set(url, doc);
  }
  return { entryUrl: urlOf.get(set.entry)!, urlOf, docOf };
}

/** Adds schemaLocation to namespace-only xs:imports that the set answers with a mapped stub. */
function injectStubLocations(text: string, stubs: Map<string, string>, urlOf: Map<string, string>): string {
  if (stubs.size === 0) return text;
  return text.replace(/<((?:[\w.-]+:)?import)\b([^>]*?)(\/?)>/g, (whole, tag: string, attrs: string, slash: string) => {
    if (/\bschemaLocation\s*=/.test(attrs)) return whole;
    const ns = /\bnamespace\s*=\s*(["'])(.*?)\1/.exec(attrs)?.[2];
    const target = ns === undefined ? undefined : stubs.get(ns);
    const url = target === undefined ? undefined : urlOf.get(target);
    return url === undefined ? whole : `<${tag}${attrs} schemaLocation="${url}"${slash}>`;
  });
}

function faultOf(error: unknown): { code?: string; reason?: string } | undefined {
  const root = (error as { root?: { Envelope?: { Body?: { Fault?: Record<string, unknown> } } } }).root;
  const fault = root?.Envelope?.Body?.Fault;
  if (fault === undefined) return undefined;
  // SOAP 1.1: faultcode/faultstring; SOAP 1.2: Code/Value, Reason/Text.
  const code = (fault.faultcode ?? (fault.Code as { Value?: unknown } | undefined)?.Value) as unknown;
  const reasonNode = fault.faultstring ?? (fault.Reason as { Text?: unknown } | undefined)?.Text;
  const reason = typeof reasonNode === 'object' && reasonNode !== null ? (reasonNode as { $value?: unknown }).$value : reasonNode;
  return { code: code === undefined ? undefined : String(code), reason: reason === undefined ? undefined : String(reason) };
}

/** The UsernameToken password never leaves the client: requestXml is for receipts and audit. */
export function redactPassword(xml: string): string {
  return xml.replace(/(<(?:[\w.-]+:)?Password\b[^>]*>)[^<]*(<\/)/g, '$1[redacted]$2');
}

export async function createSoapClient(options: SoapClientOptions): Promise<SoapClient> {
  const set = typeof options.wsdl === 'string' ? await loadWsdlSet(options.wsdl, options.wsdlOptions) : options.wsdl;
  const { entryUrl, urlOf, docOf } = virtualize(set);
  const port = set.ports.find((p) => (options.service === undefined || p.service === options.service) && (options.port === undefined || p.name === options.port));
  if (port === undefined) {
    throw configError(`WSDL 中没有所选的服务/端口 / no such service/port in the WSDL: ${options.service ?? '*'}/${options.port ?? '*'}`, {
      ports: set.ports.map((p) => `${p.service}/${p.name}`),
    });
  }
  const binding = set.bindings.find((b) => b.name === port.binding);
  const version: SoapVersion = options.version ?? binding?.version ?? '1.1';
  const endpoint = options.endpoint ?? port.address;
  if (endpoint === undefined || !/^https?:\/\//i.test(endpoint)) throw configError(`SOAP 端点缺失或无效 / missing or invalid SOAP endpoint: ${endpoint ?? '(none)'}`);
  const zone = options.zone ?? '+08:00';
  if (!/^(Z|[+-]\d{2}:\d{2})$/.test(zone)) throw configError(`zone 应为 +08:00 形式 / zone must look like +08:00: ${zone}`);

  // Loading: every document comes from memory; a URL we did not hand out is refused, never fetched.
  const loader = {
    request(url: string, _data: unknown, callback: (error: unknown, res?: unknown, body?: unknown) => void) {
      const doc = docOf.get(url);
      if (doc === undefined) {
        callback(new VochubError('SOAP_WSDL_REMOTE_REFUSED', `WSDL 加载时拒绝联网 / refused to fetch ${url} while loading the WSDL`, { status: 500, details: { url } }));
        return;
      }
      const text = injectStubLocations(doc.text, set.stubs, urlOf);
      callback(null, { status: 200, headers: {}, data: text }, text);
    },
  };
  const overrideImportLocation = (includePath: string, parentUri: string, location: string): string => {
    if (docOf.has(location)) return location;
    const parent = docOf.get(parentUri);
    const target = parent?.references.find((r) => r.location === location)?.target;
    const url = target === undefined ? undefined : urlOf.get(target);
    if (url === undefined) throw new VochubError('SOAP_WSDL_PART_MISSING', `未知的 WSDL 引用 / unknown WSDL reference ${location}`, { status: 500, details: { location, includePath } });
    return url;
  };

  let client: soap.Client;
  try {
    client = await soap.createClientAsync(
      entryUrl,
      {
        httpClient: loader as unknown as soap.IHttpClient,
        wsdl_options: { overrideImportLocation },
        disableCache: true,
        forceSoap12Headers: version === '1.2',
        customDeserializer: { dateTime: (text: string) => withOffset(text, zone), date: (text: string) => text.trim() },
      },
      endpoint,
    );
  } catch (error) {
    if (error instanceof VochubError) throw error;
    throw new VochubError('SOAP_WSDL_INVALID', `WSDL 无法编译 / the WSDL set cannot be compiled: ${(error as Error).message}`, { status: 500, cause: error });
  }
  const breaker = options.breaker instanceof CircuitBreaker ? options.breaker : new CircuitBreaker(options.breaker);
  const transport = new SoapTransport({
    endpoint,
    timeoutMs: options.timeoutMs ?? 30_000,
    retries: Math.max(0, options.retries ?? 2),
    backoff: { baseMs: options.backoff?.baseMs ?? 200, maxMs: options.backoff?.maxMs ?? 5_000 },
    breaker,
    logger: options.logger,
  });
  (client as unknown as { httpClient: unknown }).httpClient = transport;
  if (options.security !== undefined) {
    client.setSecurity(new soap.WSSecurity(options.security.username, options.security.password, { passwordType: options.security.passwordType ?? 'PasswordText', hasTimeStamp: true }));
  }

  const described = client.describe() as Record<string, Record<string, Record<string, { input: unknown; output: unknown }>>>;
  const methods = described[port.service]?.[port.name] ?? {};
  const bound = (client as unknown as Record<string, Record<string, Record<string, soap.SoapMethod>>>)[port.service]?.[port.name] ?? {};

  return {
    version,
    endpoint,
    service: port.service,
    port: port.name,
    breaker,
    set,
    operations: () => Object.entries(methods).map(([name, d]) => ({ name, service: port.service, port: port.name, input: d.input, output: d.output })),
    call<T>(operation: string, args: unknown): Promise<SoapCallResult<T>> {
      const method = Object.prototype.hasOwnProperty.call(bound, operation) ? bound[operation] : undefined;
      if (method === undefined) {
        return Promise.reject(new VochubError('SOAP_OPERATION_UNKNOWN', `WSDL 中没有操作 ${operation} / no operation ${operation} in ${port.service}/${port.name}`, { status: 400, details: { operation } }));
      }
      transport.last = undefined;
      return new Promise((resolvePromise, reject) => {
        method(args, (error: unknown, result: unknown, rawResponse: unknown, _header: unknown, rawRequest: unknown) => {
          const exchange = transport.last;
          const requestXml = redactPassword(typeof rawRequest === 'string' ? rawRequest : (client.lastRequest ?? ''));
          if (error) {
            if (error instanceof VochubError) return reject(error);
            const fault = faultOf(error);
            if (fault !== undefined) {
              return reject(new VochubError('SOAP_FAULT', `对端返回 SOAP Fault / the peer answered with a SOAP fault: ${fault.code ?? ''} ${fault.reason ?? ''}`.trim(), {
                status: 502,
                details: { faultCode: fault.code, faultReason: fault.reason, httpStatus: exchange?.status },
              }));
            }
            const status = exchange?.status;
            return reject(new VochubError(status !== undefined && status >= 400 ? 'SOAP_HTTP_STATUS' : 'SOAP_RESPONSE_INVALID', `SOAP 响应无法处理 / the SOAP response could not be processed (HTTP ${status ?? '?'})`, {
              status: 502,
              details: { httpStatus: status },
              cause: error,
            }));
          }
          resolvePromise({
            result: result as T,
            rawResponse: typeof rawResponse === 'string' ? rawResponse : (exchange?.body ?? ''),
            requestXml,
            status: exchange?.status ?? 0,
            attempts: exchange?.attempts ?? 0,
            requestHeaders: exchange?.requestHeaders ?? {},
          });
        });
      });
    },
  };
}
