// soap adapter: a member system that speaks SOAP. Start-up loads the WSDL set from disk (no network,
// missing parts stop start-up), discover() lists the operations, read() calls the configured
// operations and maps the results to contract records. The client API for other plugins is client.ts.
import type { Problem } from '../../core/errors.ts';
import { configError, isVochubError } from '../../core/errors.ts';
import type { DiscoveredEntity, HealthReport, PluginFactory, PluginInstance, ReadBatch, SourceRecord } from '../../core/plugins/types.ts';
import { createSoapClient, loadWsdlSet, type SoapClient, type SoapVersion } from './client.ts';
import { listAt, mapField, type ReadMapping } from './src/mapping.ts';
import { resolve } from 'node:path';

export interface SoapAdapterConfig {
  wsdl: string;
  entry?: string;
  namespaces?: Record<string, string>;
  locations?: Record<string, string>;
  endpoint?: string;
  service?: string;
  port?: string;
  version?: SoapVersion;
  security?: { username: string; password: string; passwordType?: 'PasswordText' | 'PasswordDigest' };
  timeoutMs?: number;
  retries?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  breaker?: { failureThreshold?: number; cooldownMs?: number };
  zone?: string;
  reads?: ReadMapping[];
}

const createSoapAdapter: PluginFactory<SoapAdapterConfig> = (context) => {
  const { config } = context;
  if (config?.wsdl === undefined) throw configError('soap: 缺少 wsdl / wsdl is required');
  let client: SoapClient | undefined;

  const open = async (): Promise<SoapClient> => {
    if (client !== undefined) return client;
    const set = await loadWsdlSet(resolve(context.baseDir, config.wsdl), {
      entry: config.entry,
      namespaces: config.namespaces,
      locations: config.locations,
      baseDir: context.baseDir,
    });
    client = await createSoapClient({
      wsdl: set,
      endpoint: config.endpoint,
      service: config.service,
      port: config.port,
      version: config.version,
      security: config.security,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      backoff: config.backoff,
      breaker: config.breaker,
      zone: config.zone,
      logger: context.logger,
    });
    for (const read of config.reads ?? []) {
      if (!client.operations().some((o) => o.name === read.operation)) {
        throw configError(`soap: WSDL 中没有操作 ${read.operation} / no operation ${read.operation} in the WSDL`, { operation: read.operation });
      }
      if (!context.contracts.has(read.contract)) throw configError(`soap: 未知契约 / unknown contract ${read.contract}`);
    }
    return client;
  };

  const instance: PluginInstance = {
    // Start-up fails here when a WSDL/XSD part is missing, remote or carries a DOCTYPE (C28, C31).
    async init() {
      await open();
    },

    async check(): Promise<HealthReport> {
      try {
        const c = await open();
        return { ok: true, detail: `${c.service}/${c.port} SOAP ${c.version} ${c.endpoint} (${c.operations().length} operations, ${c.breaker.state})` };
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      }
    },

    async discover(): Promise<DiscoveredEntity[]> {
      const c = await open();
      const mapped = new Map((config.reads ?? []).map((r) => [r.operation, r.contract]));
      return c.operations().map((o) => {
        const contract = mapped.get(o.name);
        return contract === undefined ? { name: o.name, detail: `${o.service}/${o.port}` } : { name: o.name, contract, detail: `${o.service}/${o.port}` };
      });
    },

    async *read(options): AsyncIterable<ReadBatch> {
      const c = await open();
      const complete: string[] = [];
      for (const read of config.reads ?? []) {
        const records: SourceRecord[] = [];
        const problems: Problem[] = [];
        const seen = new Set<string>();
        let failed = false;
        const calls = read.calls ?? [read.args ?? {}];
        for (let callIndex = 0; callIndex < calls.length; callIndex++) {
          if (options.signal.aborted) return;
          const origin = `${c.endpoint}#${read.operation}[${callIndex}]`;
          let result: unknown;
          try {
            result = (await c.call(read.operation, calls[callIndex])).result;
          } catch (error) {
            // A fault answers this call only: record it and go on. Outages (timeout, breaker) stop the run.
            if (isVochubError(error) && (error.code === 'SOAP_FAULT' || error.code === 'SOAP_RESPONSE_INVALID' || error.code === 'SOAP_XML_DOCTYPE')) {
              failed = true;
              problems.push({ code: error.code, severity: 'error', message: error.message, file: origin, contract: read.contract });
              continue;
            }
            throw error;
          }
          listAt(result, read.records).forEach((item, i) => {
            const data: Record<string, unknown> = {};
            let bad = false;
            for (const [field, spec] of Object.entries(read.fields)) {
              const r = mapField(item, spec, field);
              if (r.problem !== undefined) {
                bad = true;
                problems.push({ ...r.problem, severity: 'error', file: origin, line: i + 1, field, contract: read.contract });
              } else if (r.value !== undefined) data[field] = r.value;
            }
            const key = data[read.key ?? 'id'];
            if (typeof key !== 'string' || key === '') {
              problems.push({ code: 'SOAP_RECORD_KEY_MISSING', severity: 'error', message: `记录缺少主键 / the record has no key (${read.key ?? 'id'})`, file: origin, line: i + 1, contract: read.contract });
              return;
            }
            if (bad) return;
            if (seen.has(key)) return;
            seen.add(key);
            data.id ??= key;
            records.push({ contract: read.contract, key, op: 'upsert', data, location: { file: origin, line: i + 1 } });
          });
        }
        if (!failed && options.mode === 'full') complete.push(read.contract);
        yield { records, problems, checkpoint: { operation: read.operation } };
      }
      yield { records: [], problems: [], ...(complete.length > 0 ? { complete } : {}) };
    },
  };
  return instance;
};

export default createSoapAdapter;
