// Entry of the import pipeline's prepare worker (core/pipeline/prepare-worker.ts). A worker thread
// starts without the parent's module hooks, so it registers tsx itself before loading TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./prepare-worker-thread.ts');
