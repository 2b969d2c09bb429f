// Public surface of core/api.
export { buildApi, API_VERSION } from './app.ts';
export type { BuildApiOptions } from './app.ts';
export { principalOf, requirePermission } from './auth.ts';
export { createMetrics } from './metrics.ts';
export type { ApiMetrics } from './metrics.ts';
export { API_ERRORS, PROBLEM_TYPE_BASE, apiError, toProblem } from './problem.ts';
export type { ApiErrorCode, ProblemDocument } from './problem.ts';
export type { HubContext, ReadinessCheck } from './types.ts';
