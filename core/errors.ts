// Errors are a public API: one class, one stable code per failure, grouped by area.
// Tests assert on `code`, never on the message. A retired code is never reused.
// Input problems (bad rows, bad values) are *recorded* as `Problem`s, not thrown;
// VochubError is thrown only for programmer errors, refused requests and outages.

export interface ProblemLocation {
  /** Source file (relative to the adapter's base folder) or other origin (URL, DN). */
  file?: string;
  /** 1-based physical line (delimited text, XML) or row number (worksheets). */
  line?: number;
  /** Column: header name or 1-based index for delimited text and worksheets, e.g. "身份证号" or 5. */
  column?: string | number;
  /** Sheet name for workbooks. */
  sheet?: string;
  /** Contract field path (JSON pointer without the leading slash), e.g. "idNumber" or "roles/0/orgId". */
  field?: string;
}

/** A problem with an input: recorded, never thrown. Good rows go on. */
export interface Problem extends ProblemLocation {
  /** Stable code, e.g. ID_CHECK_DIGIT, DATE_FORMAT, CSV_PARSE. See docs/errors.md. */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  /** The offending value as read (may be PII: the store encrypts it, the API masks it). */
  value?: string;
  /** Contract the row was meant for, when known. */
  contract?: string;
  /** Source key of the record, when known. */
  key?: string;
}

export interface VochubErrorOptions {
  status?: number;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class VochubError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: VochubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VochubError';
    this.code = code;
    this.status = options.status ?? 500;
    this.details = options.details;
  }
}

export function isVochubError(error: unknown): error is VochubError {
  return error instanceof VochubError;
}

/** Shorthand for refusing bad configuration at start-up. */
export function configError(message: string, details?: Record<string, unknown>): VochubError {
  return new VochubError('CONFIG_INVALID', message, { status: 400, details });
}
