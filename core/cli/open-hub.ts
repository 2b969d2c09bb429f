import type { Command } from 'commander';
import { createHub, type Hub } from '../hub.ts';
import { createLogger } from '../logger.ts';

/** Opens the hub for a one-shot command: quiet logs (warnings and up) unless VOCHUB_LOG_LEVEL says otherwise. */
export function openHub(program: Command, options: { background?: boolean } = {}): Promise<Hub> {
  const { config } = program.opts<{ config?: string }>();
  return createHub({ configPath: config, background: options.background ?? false, logger: createLogger({ level: process.env.VOCHUB_LOG_LEVEL ?? 'warn' }) });
}
