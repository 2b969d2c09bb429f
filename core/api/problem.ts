// RFC 9457 problem details: every error the API sends, including fastify's own (validation,
// unknown route, bad JSON), leaves through toProblem() with one stable code.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { VochubError, isVochubError } from '../errors.ts';

export const PROBLEM_TYPE_BASE = 'https://vochub.dev/errors/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Codes the API itself produces; errors from hub parts (VochubError) keep their own codes. */
export const API_ERRORS = {
  AUTH_REQUIRED: { status: 401, title: '需要认证 / Authentication required' },
  AUTH_INVALID: { status: 401, title: '认证失败 / Authentication failed' },
  FORBIDDEN: { status: 403, title: '没有权限 / Permission denied' },
  MEMBER_SCOPE: { status: 403, title: '超出成员范围 / Outside the member scope' },
  NOT_FOUND: { status: 404, title: '未找到 / Not found' },
  CONTRACT_UNKNOWN: { status: 404, title: '未知契约 / Unknown contract' },
  MEMBER_UNKNOWN: { status: 404, title: '未知成员 / Unknown member' },
  ADAPTER_UNKNOWN: { status: 404, title: '未知适配器 / Unknown adapter' },
  REQUEST_INVALID: { status: 400, title: '请求无效 / Invalid request' },
  PAYLOAD_TOO_LARGE: { status: 413, title: '请求体过大 / Request body too large' },
  MEDIA_TYPE_UNSUPPORTED: { status: 415, title: '不支持的内容类型 / Unsupported media type' },
  DLQ_ENTRY_CLOSED: { status: 409, title: '死信已处理 / Dead letter already replayed or discarded' },
  INTERNAL: { status: 500, title: '内部错误 / Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  /** Validation errors: where, not what value (values may be PII). */
  errors?: { in: string; field: string; message: string }[];
}

export function apiError(code: ApiErrorCode, detail: string, details?: Record<string, unknown>): VochubError {
  return new VochubError(code, detail, { status: API_ERRORS[code].status, details });
}

function titleOf(code: string, status: number): string {
  const known = (API_ERRORS as Record<string, { title: string }>)[code];
  if (known) return known.title;
  if (status >= 500) return API_ERRORS.INTERNAL.title;
  return code;
}

function instanceOf(request: FastifyRequest): string {
  // The path only: query strings are not part of the resource and might carry filter values.
  const url = request.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function fastifyCode(error: FastifyError): { code: string; status: number; detail: string } | undefined {
  const status = error.statusCode ?? 500;
  if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { code: 'PAYLOAD_TOO_LARGE', status: 413, detail: '请求体超过上限 / The request body exceeds the limit' };
  }
  if (status === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { code: 'MEDIA_TYPE_UNSUPPORTED', status: 415, detail: '请使用 application/json / Send application/json' };
  }
  if (status === 404) return { code: 'NOT_FOUND', status: 404, detail: '资源不存在 / The resource does not exist' };
  if (status >= 400 && status < 500) {
    // Bad JSON, empty JSON body, bad content length …: the client's fault, one code.
    return { code: 'REQUEST_INVALID', status: 400, detail: '请求格式错误 / The request is malformed' };
  }
  return undefined;
}

/** Turns anything thrown in a request into a problem document (never leaks internals of 5xx errors). */
export function toProblem(error: unknown, request: FastifyRequest): ProblemDocument {
  const instance = instanceOf(request);
  const make = (code: string, status: number, detail: string): ProblemDocument =>
    ({ type: PROBLEM_TYPE_BASE + code, title: titleOf(code, status), status, detail, code, instance });

  if (isVochubError(error)) {
    return make(error.code, error.status, error.message);
  }
  const fe = error as FastifyError;
  if (fe && Array.isArray(fe.validation)) {
    const where = fe.validationContext ?? 'request';
    const doc = make('REQUEST_INVALID', 400, `请求参数不符合要求 / The ${where} does not match its schema`);
    doc.errors = fe.validation.map((v) => ({
      in: where,
      field: (v.instancePath || '').replace(/^\//, '') ||
        String((v.params as { missingProperty?: string; additionalProperty?: string })?.missingProperty ??
          (v.params as { additionalProperty?: string })?.additionalProperty ?? ''),
      message: v.message ?? v.keyword,
    }));
    return doc;
  }
  if (fe && typeof fe === 'object' && typeof fe.statusCode === 'number') {
    const mapped = fastifyCode(fe);
    if (mapped) return make(mapped.code, mapped.status, mapped.detail);
  }
  return make('INTERNAL', 500, '服务器内部错误，请查看日志 / Internal server error, see the hub log');
}

export function sendProblem(reply: FastifyReply, problem: ProblemDocument): FastifyReply {
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="vochub"');
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** JSON Schema of a problem document (OpenAPI component `Problem`). */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json)',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'Stable error code, see docs/api.md' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { in: { type: 'string' }, field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;
