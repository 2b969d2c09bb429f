// Request-level authorisation helpers shared by the routes.
import type { FastifyRequest } from 'fastify';
import { can } from '../security/roles.ts';
import type { Permission, Principal } from '../security/types.ts';
import { apiError } from './problem.ts';

/** The authenticated principal of a request (the auth hook guarantees it on /api/v1 routes). */
export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw apiError('AUTH_REQUIRED', '需要 API 密钥 / An API key is required');
  return p;
}

/** preHandler: the caller must hold `permission` (member checks happen in the handler, per resource). */
export function requirePermission(permission: Permission) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!can(principalOf(request), permission)) {
      throw apiError('FORBIDDEN', `需要 ${permission} 权限 / The ${permission} permission is required`);
    }
  };
}

