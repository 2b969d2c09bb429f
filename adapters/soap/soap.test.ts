// SOAP client base, proven on real WSDLs against real `soap` servers on ephemeral ports (cases C27,
// C28, C29, C31): loading from disk only, version by binding, namespace-correct envelopes, WS-Security,
// date-time offsets, timeouts, retries, circuit breaker, DOCTYPE refusal.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import soap from 'soap';
import { SaxesParser } from 'saxes';
import { createSoapClient, CircuitBreaker, loadWsdlSet, redactPassword } from './client.ts';
import { isVochubError, type VochubError } from '../../core/errors.ts';

const here = dirname(fileURLToPath(import.meta.url));
const kuali = join(here, 'fixtures/kuali-student');
const cases = join(here, '../../tests/fixtures/cases');
const servers: Server[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Peer {
  url: string;
  requests: { headers: IncomingMessage['headers']; body: string }[];
}

/** A real HTTP server on an ephemeral port; `setup` mounts handlers (and may finish asynchronously). */
async function peer(setup: (server: Server) => unknown): Promise<Peer> {
  const server = createServer();
  const requests: Peer['requests'] = [];
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  // After setup: soap.listen re-registers the server's request listeners around its own once its WSDL is loaded.
  await setup(server);
  server.prependListener('request', (req: IncomingMessage) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => requests.push({ headers: req.headers, body }));
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/svc`, requests };
}

/** A real `soap` server built from the same WSDL file, mounted at /svc, ready when this resolves. */
function soapPeer(wsdlFile: string, services: soap.IServices): Promise<Peer> {
  return peer(
    (server) =>
      new Promise<void>((ready, fail) => {
        soap.listen(server, {
          path: '/svc',
          xml: readFileSync(wsdlFile, 'utf8'),
          uri: wsdlFile,
          services,
          suppressStack: true,
          callback: (err: unknown) => (err ? fail(err) : ready()),
        });
      }),
  );
}

async function rejected(promise: Promise<unknown>): Promise<VochubError> {
  try {
    await promise;
  } catch (error) {
    if (isVochubError(error)) return error;
    throw error;
  }
  throw new Error('expected a VochubError');
}

/** Namespace-aware canonical form of an element tree: prefixes free, xmlns attributes dropped, text trimmed. */
function canonical(xml: string, rootLocal = 'Body'): unknown {
  const parser = new SaxesParser({ xmlns: true });
  const stack: { name: string; attrs: Record<string, string>; children: unknown[]; text: string }[] = [];
  let found: unknown;
  parser.on('opentag', (t) => {
    const attrs: Record<string, string> = {};
    for (const a of Object.values(t.attributes) as { uri: string; local: string; value: string; prefix: string; name: string }[]) {
      if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
      attrs[`{${a.uri}}${a.local}`] = a.value;
    }
    stack.push({ name: `{${t.uri}}${t.local}`, attrs, children: [], text: '' });
  });
  parser.on('text', (text) => {
    const top = stack.at(-1);
    if (top) top.text += text;
  });
  parser.on('closetag', (t) => {
    const node = stack.pop()!;
    const out = { name: node.name, attrs: node.attrs, text: node.text.trim(), children: node.children };
    if (t.local === rootLocal) found = out;
    stack.at(-1)?.children.push(out);
  });
  parser.write(xml).close();
  return found;
}

describe('WSDL sets from disk', () => {
  it('loads each Kuali Student WSDL offline and discovers its operations (rice namespace resolved inside the set)', async () => {
    const expected: Record<string, number> = { 'LprService.wsdl': 34, 'AcademicRecordService.wsdl': 16, 'HoldService.wsdl': 25, 'OrganizationService.wsdl': 62, 'AcademicCalendarService.wsdl': 113 };
    for (const [entry, count] of Object.entries(expected)) {
      const text = readFileSync(join(kuali, entry), 'utf8');
      // Counted from the file, independently of the loader: operations of the portType.
      const portTypeOps = text.slice(text.indexOf('<wsdl:portType'), text.indexOf('</wsdl:portType>')).match(/<wsdl:operation /g)!.length;
      expect(portTypeOps).toBe(count);
      const client = await createSoapClient({ wsdl: await loadWsdlSet(kuali, { entry }), endpoint: 'http://127.0.0.1:9/unused' });
      expect(client.operations()).toHaveLength(count);
      expect(client.version).toBe('1.1');
    }
    const folder = await rejected(loadWsdlSet(kuali));
    expect(folder.code).toBe('SOAP_WSDL_ENTRY_AMBIGUOUS');
  });

  it('C28: resolves wsdl:import → xs:import → xs:include relative to each document; submitAttendance is callable', async () => {
    const set = await loadWsdlSet(join(cases, 'C28-wsdl-import-service.wsdl'));
    expect([...set.documents.values()].map((d) => d.name)).toEqual([
      'C28-wsdl-import-service.wsdl',
      'C28-wsdl-import-abstract.wsdl',
      'C28-wsdl-import-types.xsd',
      'C28-wsdl-import-common.xsd',
    ]);
    const server = await soapPeer(join(cases, 'C28-wsdl-import-service.wsdl'), {
      AttendanceService: { AttendancePort: { submitAttendance: (args: { record: unknown[] }) => ({ accepted: args.record.length }) } },
    });
    const client = await createSoapClient({ wsdl: set, endpoint: server.url });
    const ops = client.operations();
    expect(ops.map((o) => o.name)).toEqual(['submitAttendance']);
    expect(Object.keys((ops[0]!.input as { 'record[]': Record<string, unknown> })['record[]'])).toEqual(expect.arrayContaining(['studentNo', 'internshipOrg', 'date', 'status']));
    const records = [
      { studentNo: '2023060101', internshipOrg: '911100007109288314', date: '2025-03-03', status: 'present' },
      { studentNo: '2023060102', internshipOrg: '911100007109288314', date: '2025-03-03', status: 'absent' },
    ];
    const { result, status } = await client.call<{ accepted: number }>('submitAttendance', { record: records });
    expect(status).toBe(200);
    expect(Number(result.accepted)).toBe(2);
  });

  it('C28: a missing part stops start-up naming the part and who references it; cycles are detected, not followed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-c28-'));
    dirs.push(dir);
    cpSync(cases, dir, { recursive: true, filter: (src) => !/\.(csv|xlsx|json|http|xml)$/.test(src) });
    unlinkSync(join(dir, 'C28-wsdl-import-common.xsd'));
    const missing = await rejected(loadWsdlSet(join(dir, 'C28-wsdl-import-service.wsdl')));
    expect(missing.code).toBe('SOAP_WSDL_PART_MISSING');
    expect(missing.details).toMatchObject({ part: 'C28-wsdl-import-common.xsd', from: 'C28-wsdl-import-types.xsd', kind: 'xs:include' });
    // The common schema includes the types schema back: legal XSD, loaded once.
    const common = readFileSync(join(cases, 'C28-wsdl-import-common.xsd'), 'utf8').replace('elementFormDefault="qualified">', 'elementFormDefault="qualified">\n  <xs:include schemaLocation="C28-wsdl-import-types.xsd"/>');
    writeFileSync(join(dir, 'C28-wsdl-import-common.xsd'), common);
    const set = await loadWsdlSet(join(dir, 'C28-wsdl-import-service.wsdl'));
    expect(set.documents.size).toBe(4);
    expect(set.cycles).toEqual([['C28-wsdl-import-types.xsd', 'C28-wsdl-import-common.xsd', 'C28-wsdl-import-types.xsd']]);
  });

  it('refuses remote locations unless mapped to a local file, and namespace-only imports unless defined or mapped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-remote-'));
    dirs.push(dir);
    for (const f of ['C28-wsdl-import-service.wsdl', 'C28-wsdl-import-abstract.wsdl', 'C28-wsdl-import-types.xsd', 'C28-wsdl-import-common.xsd']) cpSync(join(cases, f), join(dir, f));
    const remote = 'https://report.example.gov.cn/schema/attendance/common.xsd';
    writeFileSync(join(dir, 'C28-wsdl-import-types.xsd'), readFileSync(join(cases, 'C28-wsdl-import-types.xsd'), 'utf8').replace('schemaLocation="C28-wsdl-import-common.xsd"', `schemaLocation="${remote}"`));
    const refused = await rejected(loadWsdlSet(join(dir, 'C28-wsdl-import-service.wsdl')));
    expect(refused.code).toBe('SOAP_WSDL_REMOTE_REFUSED');
    expect(refused.details).toMatchObject({ document: 'C28-wsdl-import-types.xsd', location: remote });
    const mapped = await loadWsdlSet(join(dir, 'C28-wsdl-import-service.wsdl'), { locations: { [remote]: 'C28-wsdl-import-common.xsd' } });
    expect(mapped.documents.size).toBe(4);

    const stubDir = join(here, 'fixtures/stub-namespace');
    const unresolved = await rejected(loadWsdlSet(join(stubDir, 'HoldQuery.wsdl')));
    expect(unresolved.code).toBe('SOAP_WSDL_NAMESPACE_UNRESOLVED');
    expect(unresolved.details).toMatchObject({ namespace: 'http://rice.kuali.org/core/v2_0' });
    const withStub = await loadWsdlSet(join(stubDir, 'HoldQuery.wsdl'), { namespaces: { 'http://rice.kuali.org/core/v2_0': 'rice-core-v2_0.xsd' } });
    const client = await createSoapClient({ wsdl: withStub, endpoint: 'http://127.0.0.1:9/unused' });
    const input = client.operations()[0]!.input as { criteria: Record<string, unknown> };
    expect(input.criteria).toMatchObject({ startAtIndex: 'xs:int', maxResults: 'xs:int' });
  });

  it('C31: a WSDL or XSD with a DOCTYPE is refused before parsing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-dtd-'));
    dirs.push(dir);
    const wsdl = readFileSync(join(cases, 'C27-soap-ns-prefix.wsdl'), 'utf8').replace('<wsdl:definitions', '<!DOCTYPE wsdl:definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<wsdl:definitions');
    writeFileSync(join(dir, 'evil.wsdl'), wsdl);
    expect((await rejected(loadWsdlSet(join(dir, 'evil.wsdl')))).code).toBe('SOAP_XML_DOCTYPE');
  });
});

describe('calls against a real soap server', () => {
  it('Kuali LprService: getLprsByPerson with a WS-Security UsernameToken; date-times keep or take their offset', async () => {
    let seenHeaders: Record<string, unknown> | undefined;
    const server = await soapPeer(join(kuali, 'LprService.wsdl'), {
      LprService: {
        LprService: {
          getLprsByPerson: (args: { personId: string }, _cb: unknown, headers: Record<string, unknown>) => {
            seenHeaders = headers;
            return {
              return: [
                { id: 'lpr-1', personId: args.personId, luiId: 'lui-ENG101', effectiveDate: '2024-09-01T08:00:00', expirationDate: '2025-01-15T17:00:00Z', typeKey: 'kuali.lpr.type.registrant', stateKey: 'kuali.lpr.state.active' },
                { id: 'lpr-2', personId: args.personId, luiId: 'lui-MTH101', effectiveDate: '2024-09-02T09:30:00-05:00', typeKey: 'kuali.lpr.type.registrant', stateKey: 'kuali.lpr.state.active' },
              ],
            };
          },
        },
      },
    });
    const client = await createSoapClient({ wsdl: join(kuali, 'LprService.wsdl'), endpoint: server.url, security: { username: 'vochub', password: 'pw-from-secret-ref' }, zone: '+08:00' });
    const call = await client.call<{ return: Record<string, string>[] }>('getLprsByPerson', { personId: 'P-1001', contextInfo: { principalId: 'vochub' } });
    expect(call.result.return.map((r) => [r.id, r.effectiveDate, r.expirationDate])).toEqual([
      ['lpr-1', '2024-09-01T08:00:00+08:00', '2025-01-15T17:00:00Z'],
      ['lpr-2', '2024-09-02T09:30:00-05:00', undefined],
    ]);
    const token = (seenHeaders as { Security: { UsernameToken: { Username: string; Password: { $value: string } } } }).Security.UsernameToken;
    expect(token.Username).toBe('vochub');
    expect(token.Password.$value).toBe('pw-from-secret-ref');
    // The password went over the wire but is not in what the caller keeps.
    expect(server.requests[0]!.body).toContain('pw-from-secret-ref');
    expect(call.requestXml).not.toContain('pw-from-secret-ref');
    expect(call.requestXml).toContain('[redacted]');
    expect(call.rawResponse).toContain('lpr-2');
    expect((await rejected(client.call('noSuchOperation', {}))).code).toBe('SOAP_OPERATION_UNKNOWN');
  });

  it('C27: the envelope equals the expected request, namespace-aware (tns qualified, schoolCode/student unqualified, xh/xm/sfzh in cmn)', async () => {
    const server = await soapPeer(join(cases, 'C27-soap-ns-prefix.wsdl'), {
      StudentReportService: { StudentReportPort: { submitStudents: () => ({ result: 'OK' }) } },
    });
    const client = await createSoapClient({ wsdl: join(cases, 'C27-soap-ns-prefix.wsdl'), endpoint: server.url });
    const { requestXml, result } = await client.call<{ result: string }>('submitStudents', {
      schoolCode: '1099999999',
      student: [{ xh: '2023270101', xm: '王小明', sfzh: '110101200602150107' }],
    });
    expect(result.result).toBe('OK');
    const expected = readFileSync(join(cases, 'C27-soap-ns-prefix-expected-request.xml'), 'utf8');
    expect(canonical(requestXml)).toEqual(canonical(expected));
    expect(canonical(server.requests[0]!.body)).toEqual(canonical(expected));
  });

  it('C29: a soap12 binding sends application/soap+xml with action and no SOAPAction; an override sends SOAP 1.1', async () => {
    const http = readFileSync(join(cases, 'C29-soap12-request.http'), 'utf8');
    const soap12Block = http.slice(http.indexOf('### What a SOAP 1.2 endpoint expects'));
    const expectedContentType = /^Content-Type: (.+)$/m.exec(soap12Block)![1]!.trim();
    const expectedBody = soap12Block.slice(soap12Block.indexOf('<?xml'));
    const wsdl = join(here, 'fixtures/c29/Internship.wsdl');
    const server = await soapPeer(wsdl, {
      InternshipService: { WSHttpBinding_IInternship: { SubmitPlacement: () => ({ receiptNo: 'R-20250301-0001', acceptedAt: '2025-03-01T10:00:00' }) } },
    });
    const client = await createSoapClient({ wsdl, endpoint: server.url });
    expect(client.version).toBe('1.2');
    const call = await client.call<{ receiptNo: string; acceptedAt: string }>('SubmitPlacement', { studentNo: '2023290101', orgCode: '91110000000000000X' });
    const sent = server.requests.at(-1)!;
    expect(sent.headers['content-type']).toBe(expectedContentType);
    expect(sent.headers.soapaction).toBeUndefined();
    expect(canonical(sent.body)).toEqual(canonical(expectedBody));
    expect(canonical(sent.body, 'Envelope')).toMatchObject({ name: '{http://www.w3.org/2003/05/soap-envelope}Envelope' });
    expect(call.result).toEqual({ receiptNo: 'R-20250301-0001', acceptedAt: '2025-03-01T10:00:00+08:00' });

    const legacy = await createSoapClient({ wsdl, endpoint: server.url, version: '1.1' });
    await legacy.call('SubmitPlacement', { studentNo: '2023290101', orgCode: '91110000000000000X' }).catch(() => undefined);
    const old = server.requests.at(-1)!;
    expect(old.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(old.headers.soapaction).toBe('"http://report.example.gov.cn/ws/IInternship/SubmitPlacement"');
    expect(canonical(old.body, 'Envelope')).toMatchObject({ name: '{http://schemas.xmlsoap.org/soap/envelope/}Envelope' });
  });

  it('C31: a response with a DOCTYPE fails; the canary file is not read into anything and no entity URL is fetched', async () => {
    const canaryText = `canary-${process.pid}-${Date.now()}`;
    writeFileSync('/tmp/hub-xxe-canary.txt', canaryText);
    const fetched = await peer((server) => server.on('request', (_req, res) => res.end(canaryText)));
    const xxe = readFileSync(join(cases, 'C31-xxe-soap-response.xml'), 'utf8');
    for (const body of [xxe, xxe.replace('file:///tmp/hub-xxe-canary.txt', fetched.url)]) {
      const server = await peer((s) => s.on('request', (_req, res) => res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(body)));
      const client = await createSoapClient({ wsdl: join(cases, 'C27-soap-ns-prefix.wsdl'), endpoint: server.url, retries: 0 });
      const error = await rejected(client.call('submitStudents', { schoolCode: '1', student: [] }));
      expect(error.code).toBe('SOAP_XML_DOCTYPE');
      expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(canaryText);
      expect(server.requests).toHaveLength(1);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(fetched.requests).toHaveLength(0);
  });

  it('times out, retries outages with backoff, and opens the circuit after repeated failures', async () => {
    let mode: 'hang' | 'unavailable' | 'ok' = 'unavailable';
    const wsdl = join(cases, 'C27-soap-ns-prefix.wsdl');
    const okBody = '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><tns:submitStudentsResponse xmlns:tns="http://report.example.gov.cn/ws/StudentReport"><result>OK</result></tns:submitStudentsResponse></soap:Body></soap:Envelope>';
    const server = await peer((s) =>
      s.on('request', (req, res) => {
        req.resume();
        req.on('end', () => {
          if (mode === 'hang') return;
          if (mode === 'unavailable') res.writeHead(503).end('busy');
          else res.writeHead(200, { 'content-type': 'text/xml' }).end(okBody);
        });
      }),
    );
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 4, cooldownMs: 60_000, now: () => now });
    const client = await createSoapClient({ wsdl, endpoint: server.url, retries: 1, backoff: { baseMs: 1, maxMs: 5 }, timeoutMs: 300, breaker });
    const args = { schoolCode: '1099999999', student: [] };

    expect((await rejected(client.call('submitStudents', args))).code).toBe('SOAP_HTTP_STATUS');
    expect(server.requests).toHaveLength(2);
    mode = 'hang';
    expect((await rejected(client.call('submitStudents', args))).code).toBe('SOAP_TIMEOUT');
    expect(breaker.state).toBe('open');
    const before = server.requests.length;
    const open = await rejected(client.call('submitStudents', args));
    expect(open.code).toBe('SOAP_CIRCUIT_OPEN');
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests.length).toBe(before);
    // After the cooldown one trial goes through; success closes the circuit.
    now = 60_000;
    mode = 'ok';
    expect(breaker.state).toBe('half-open');
    const ok = await client.call<{ result: string }>('submitStudents', args);
    expect(ok.result.result).toBe('OK');
    expect(breaker.state).toBe('closed');
  });

  it('SOAP faults are answers: reported with their code and reason, not retried', async () => {
    const server = await soapPeer(join(cases, 'C27-soap-ns-prefix.wsdl'), {
      StudentReportService: {
        StudentReportPort: {
          submitStudents: () => {
            throw { Fault: { faultcode: 'soap:Client', faultstring: '学校代码不存在 / unknown school code' } };
          },
        },
      },
    });
    const client = await createSoapClient({ wsdl: join(cases, 'C27-soap-ns-prefix.wsdl'), endpoint: server.url, retries: 3, backoff: { baseMs: 1, maxMs: 2 } });
    const fault = await rejected(client.call('submitStudents', { schoolCode: '0', student: [] }));
    expect(fault.code).toBe('SOAP_FAULT');
    expect(fault.details).toMatchObject({ faultCode: 'soap:Client', faultReason: '学校代码不存在 / unknown school code' });
    expect(server.requests).toHaveLength(1);
  });

  it('redactPassword hides UsernameToken passwords in any prefix', () => {
    expect(redactPassword('<wsse:Password Type="x">p&amp;w</wsse:Password><o:Password>q</o:Password>')).toBe('<wsse:Password Type="x">[redacted]</wsse:Password><o:Password>[redacted]</o:Password>');
  });
});
