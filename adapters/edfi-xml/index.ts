// edfi-xml adapter: reads an Ed-Fi Data Standard 5 bulk export folder (one XML file per interchange) and maps it
// to the canonical contracts. See README.md for what is mapped, the keys and the problem codes.
import { access, constants } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { configError } from '../../core/errors.ts';
import type { DiscoveredEntity, HealthReport, PluginFactory, PluginInstance, ReadBatch, ReadOptions } from '../../core/plugins/types.ts';
import { ELEMENT_MAPPINGS, JOIN_ONLY_ELEMENTS } from './src/map.ts';
import { planFiles, type PlannedFile } from './src/plan.ts';
import { faultProblem, readInterchanges } from './src/read.ts';
import { streamInterchange, type StreamResult } from './src/xml-stream.ts';

export interface EdfiXmlConfig {
  path: string;
  files?: string[];
  batchSize?: number;
}

const MAX_BATCH = 1000;

const createEdfiXmlAdapter: PluginFactory<EdfiXmlConfig> = (context) => {
  const { config } = context;
  if (!config || typeof config.path !== 'string' || config.path === '') throw configError('edfi-xml: 缺少 path / path is required');
  const batchSize = Math.min(MAX_BATCH, Math.max(1, Math.floor(config.batchSize ?? MAX_BATCH)));
  const dir = isAbsolute(config.path) ? config.path : resolve(context.baseDir, config.path);

  const plan = (): Promise<PlannedFile[]> => planFiles(dir, config.files);

  const instance: PluginInstance = {
    async init() {},

    async check(): Promise<HealthReport> {
      try {
        await access(dir, constants.R_OK);
        const files = await plan();
        if (files.length === 0) return { ok: false, detail: `目录中没有 XML 文件 / no XML files in ${config.path}` };
        const odd = files.filter((f) => !f.root?.startsWith('Interchange')).map((f) => f.name);
        if (odd.length) return { ok: false, detail: `不是 Ed-Fi 交换文件 / not Ed-Fi interchange files: ${odd.join(', ')}` };
        return { ok: true, detail: `${files.length} interchange files` };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
        return { ok: false, detail: `无法读取 / cannot read ${config.path}: ${code}` };
      }
    },

    async discover(): Promise<DiscoveredEntity[]> {
      const out: DiscoveredEntity[] = [];
      for (const file of await plan()) {
        const counts = new Map<string, number>();
        const result: StreamResult = { elements: 0, encoding: 'utf-8' };
        const hooks = { want: () => false, seen: (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1) };
        for await (const _ of streamInterchange(file.path, hooks, result)) {
          // counting only: nothing is collected
        }
        for (const [name, count] of counts) {
          const mapping = ELEMENT_MAPPINGS.get(name);
          out.push({
            name: `${file.name}#${name}`,
            contract: mapping?.contract,
            count,
            detail: mapping ? `${result.root}` : JOIN_ONLY_ELEMENTS.has(name) ? 'joined (references only)' : 'skipped (not in v1 contracts)',
          });
        }
        if (result.fault) {
          const problem = faultProblem(file.name, result.fault);
          out.push({ name: file.name, detail: `${problem.code} line ${problem.line ?? '?'} column ${problem.column ?? '?'}` });
        }
      }
      return out;
    },

    read(options: ReadOptions): AsyncIterable<ReadBatch> {
      return (async function* () {
        yield* readInterchanges(await plan(), options, batchSize);
      })();
    },
  };
  return instance;
};

export default createEdfiXmlAdapter;
