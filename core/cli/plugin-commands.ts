// Capability plugins bring their own sub-commands (e.g. `vochub reports …`): the manifest names a
// module exporting `registerCli(program, openHub)`. Discovery reads manifests only, so it is cheap.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { repoRoot } from '../config/load.ts';
import type { Hub } from '../hub.ts';
import { discoverPlugins } from '../plugins/host.ts';
import { openHub } from './open-hub.ts';

export type RegisterCli = (program: Command, open: (options?: { background?: boolean }) => Promise<Hub>) => void | Promise<void>;

export async function registerPluginCommands(program: Command): Promise<void> {
  const plugins = discoverPlugins({ roots: [resolve(repoRoot, 'adapters'), resolve(repoRoot, 'plugins')], nodeModules: resolve(repoRoot, 'node_modules') });
  for (const plugin of plugins.values()) {
    const cli = plugin.manifest.provides?.cli;
    if (!cli) continue;
    const mod = (await import(pathToFileURL(resolve(plugin.dir, cli)).href)) as { registerCli?: RegisterCli };
    await mod.registerCli?.(program, (options) => openHub(program, options));
  }
}
