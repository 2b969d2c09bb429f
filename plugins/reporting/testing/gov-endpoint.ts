// A stand-in for the government reporting web service, built from our WSDL with the `soap` library
// (a real SOAP server on a real port). Tests start it on an ephemeral port; the demo runs it with
//   npx tsx plugins/reporting/testing/gov-endpoint.ts --port 8089
// It keeps filings in memory by filing key and answers a second submission of the same key with the
// first receipt. `failNext` / `dropNext` make the next requests fail (503 fault / connection cut after
// storing) so retries and the ambiguous-failure path can be exercised.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import soap from 'soap';
import { DEFAULT_WSDL } from '../src/soap-delivery.ts';

export interface StoredFiling {
  filingKey: string;
  definition: string;
  member: string;
  schoolYear: string;
  snapshotHash: string;
  documents: { name: string; mediaType: string; sha256: string; bytes: number; content: Buffer }[];
  receipt: { receiptNumber: string; filingKey: string; acceptedAt: string };
}

export interface GovEndpoint {
  url: string;
  filings: Map<string, StoredFiling>;
  /** SubmitFiling calls received (including duplicates and failed ones). */
  submitCalls: number;
  queryCalls: number;
  failNext: number;
  dropNext: number;
  close(): Promise<void>;
}

interface SubmitArgs {
  filingKey: string;
  definition: string;
  member: string;
  schoolYear: string;
  snapshotHash: string;
  document: { name: string; mediaType: string; sha256: string; content: string } | { name: string; mediaType: string; sha256: string; content: string }[];
}

export async function startGovEndpoint(options: { port?: number; host?: string } = {}): Promise<GovEndpoint> {
  const server: Server = createServer();
  const state: GovEndpoint = {
    url: '',
    filings: new Map(),
    submitCalls: 0,
    queryCalls: 0,
    failNext: 0,
    dropNext: 0,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  let sequence = 0;
  const receiptOf = (f: StoredFiling, alreadyFiled: boolean) => ({ receipt: { ...f.receipt, alreadyFiled } });
  const service = {
    ReportingService: {
      ReportingPort: {
        SubmitFiling(args: SubmitArgs, _cb: unknown, _headers: unknown, req: IncomingMessage) {
          state.submitCalls++;
          if (state.failNext > 0) {
            state.failNext--;
            throw { Fault: { faultcode: 'soap:Server', faultstring: '服务繁忙 / service busy', statusCode: 503 } };
          }
          const existing = state.filings.get(args.filingKey);
          if (existing) return receiptOf(existing, true);
          const documents = (Array.isArray(args.document) ? args.document : [args.document]).map((d) => {
            const content = Buffer.from(d.content, 'base64');
            const sha256 = createHash('sha256').update(content).digest('hex');
            if (sha256 !== d.sha256) throw { Fault: { faultcode: 'soap:Client', faultstring: `文档校验失败 / document ${d.name}: sha256 mismatch`, statusCode: 400 } };
            return { name: d.name, mediaType: d.mediaType, sha256, bytes: content.length, content };
          });
          sequence++;
          const filing: StoredFiling = {
            filingKey: args.filingKey, definition: args.definition, member: args.member, schoolYear: args.schoolYear, snapshotHash: args.snapshotHash, documents,
            receipt: { receiptNumber: `GOV-${args.schoolYear}-${String(sequence).padStart(6, '0')}`, filingKey: args.filingKey, acceptedAt: new Date().toISOString() },
          };
          state.filings.set(args.filingKey, filing);
          if (state.dropNext > 0) {
            state.dropNext--;
            req.socket.destroy();
          }
          return receiptOf(filing, false);
        },
        QueryFiling(args: { filingKey: string }) {
          state.queryCalls++;
          const f = state.filings.get(args.filingKey);
          return f ? { found: true, ...receiptOf(f, true) } : { found: false };
        },
      },
    },
  };
  const soapServer = soap.listen(server, { path: '/reporting', services: service, xml: readFileSync(DEFAULT_WSDL, 'utf8'), suppressStack: true });
  soapServer.log = () => undefined;
  await new Promise<void>((r) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => r()));
  const address = server.address() as AddressInfo;
  state.url = `http://${options.host ?? '127.0.0.1'}:${address.port}/reporting`;
  return state;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--port');
  const endpoint = await startGovEndpoint({ port: i > 0 ? Number(process.argv[i + 1]) : 8089 });
  process.stdout.write(`政府报送端点（演示）/ demo government endpoint: ${endpoint.url}?wsdl\n`);
}
