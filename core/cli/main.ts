// The `vochub` command. Operator-facing text: Chinese first, English second.
import { Command, Option } from 'commander';
import { isVochubError } from '../errors.ts';
import { registerStart } from './start.ts';
import { registerWorker } from './worker.ts';
import { registerImport } from './import.ts';
import { registerAdapters } from './adapters.ts';
import { registerStats } from './stats.ts';
import { registerContracts, registerValidate } from './contracts.ts';
import { registerDlq } from './dlq.ts';
import { registerKeys } from './keys.ts';
import { registerProblems } from './problems.ts';
import { registerPluginCommands } from './plugin-commands.ts';

const program = new Command();
program
  .name('vochub')
  .description('职教集团数据集成枢纽 / integration hub for a vocational education group')
  .version('0.1.0')
  .addOption(new Option('-c, --config <file>', '集团配置文件 / group configuration file (default: $VOCHUB_CONFIG, then the demo group)'))
  .showHelpAfterError();

registerStart(program);
registerWorker(program);
registerImport(program);
registerAdapters(program);
registerStats(program);
registerContracts(program);
registerValidate(program);
registerDlq(program);
registerKeys(program);
registerProblems(program);
await registerPluginCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (isVochubError(error)) {
    process.stderr.write(`错误 / error ${error.code}: ${error.message}\n`);
    process.exit(error.status >= 500 ? 2 : 1);
  }
  throw error;
}
