// A lease: a lock held for as long as the process lives, renewed in the background, re-contested
// when lost. Used so exactly one of N workers runs a singleton job (the outbox relay). A holder that
// dies stops renewing; its lease expires after ttlMs and the next worker's poll takes it over.
import type { LockManager, Lock } from './lock.ts';

export interface Lease {
  /** True while this process holds the lease. */
  readonly held: boolean;
  /** Gives the lease up (onLose runs) and stops contesting it. */
  stop(): Promise<void>;
}

export function holdLease(
  locks: LockManager,
  name: string,
  options: { ttlMs: number; onAcquire: () => void | Promise<void>; onLose: () => void | Promise<void>; onError?: (error: unknown) => void },
): Lease {
  let lock: Lock | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();
  const every = Math.max(10, Math.floor(options.ttlMs / 3));

  const step = async (): Promise<void> => {
    if (stopped) return;
    try {
      if (lock) {
        if (!(await lock.extend(options.ttlMs))) {
          lock = undefined;
          await options.onLose();
        }
      } else {
        lock = await locks.tryAcquire(name, options.ttlMs);
        if (lock) await options.onAcquire();
      }
    } catch (error) {
      // Redis unreachable: a holder cannot prove it still holds the lease, so it steps down before the
      // ttl lets another worker take over (no two relays at once).
      if (lock) {
        lock = undefined;
        await Promise.resolve(options.onLose()).catch(() => undefined);
      }
      options.onError?.(error);
    }
  };
  const loop = (): void => {
    if (stopped) return;
    tick = step().finally(() => {
      if (!stopped) {
        timer = setTimeout(loop, every);
        timer.unref();
      }
    });
  };
  loop();

  return {
    get held() {
      return lock !== undefined;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await tick;
      if (lock) {
        const held = lock;
        lock = undefined;
        await options.onLose();
        await held.release().catch(() => false);
      }
    },
  };
}
