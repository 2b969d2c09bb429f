// PII crypto and masking. The vault is the only holder of the master key: everything else sees
// ciphertext, keyed lookups, keyed hashes or masked values.
import { createCipheriv, createDecipheriv, createSecretKey, hash as oneShotHash, hkdfSync, randomBytes, randomFillSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContractInfo, PiiClass } from '../contracts/types.ts';
import { VochubError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { PiiVault, ProtectedRecord } from './types.ts';

export interface LoadVaultOptions {
  /** 32 raw bytes; wins over the environment (tests, embedding). */
  masterKey?: Buffer;
  /** Defaults to process.env: VOCHUB_MASTER_KEY (base64 of 32 bytes) or VOCHUB_MASTER_KEY_FILE. */
  env?: NodeJS.ProcessEnv;
  /** Data folder for the demo key file <dataDir>/secrets/master.key. */
  dataDir?: string;
  /** Demo only: create <dataDir>/secrets/master.key (0600) when no key is configured, and reuse it later. */
  generateIfMissing?: boolean;
  logger?: Logger;
}

const FORMAT = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// Fixed, public salt: the master key is already uniformly random, HKDF only separates purposes.
const HKDF_SALT = Buffer.from('vochub/pii/v1', 'utf8');

/** Where the vault's key came from, for start-up logs and `vochub doctor` (never the key itself). */
export type MasterKeySource = 'option' | 'env' | 'env-file' | 'data-dir' | 'generated';

function decodeKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) {
    throw new VochubError('MASTER_KEY_INVALID',
      `主密钥必须是 32 字节的 base64 编码（来源：${origin}） / The master key must be base64 of exactly 32 bytes (from ${origin})`,
      { status: 500 });
  }
  return key;
}

function readKeyFile(file: string, origin: string, logger?: Logger): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new VochubError('MASTER_KEY_MISSING', `无法读取主密钥文件 / Cannot read the master key file: ${file}`, { status: 500, cause });
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    logger?.warn({ file }, '主密钥文件可被其他用户读取，应为 0600 / master key file is readable by group or others; it should be 0600');
  }
  return decodeKey(text, origin);
}

/** Resolves the master key: option → VOCHUB_MASTER_KEY → VOCHUB_MASTER_KEY_FILE → demo key file (generateIfMissing). */
export function resolveMasterKey(options: LoadVaultOptions): { key: Buffer; source: MasterKeySource } {
  if (options.masterKey) {
    if (options.masterKey.length !== KEY_BYTES) {
      throw new VochubError('MASTER_KEY_INVALID', '主密钥必须是 32 字节 / The master key must be exactly 32 bytes', { status: 500 });
    }
    return { key: Buffer.from(options.masterKey), source: 'option' };
  }
  const env = options.env ?? process.env;
  if (env.VOCHUB_MASTER_KEY) return { key: decodeKey(env.VOCHUB_MASTER_KEY, 'VOCHUB_MASTER_KEY'), source: 'env' };
  if (env.VOCHUB_MASTER_KEY_FILE) {
    return { key: readKeyFile(env.VOCHUB_MASTER_KEY_FILE, 'VOCHUB_MASTER_KEY_FILE', options.logger), source: 'env-file' };
  }
  if (options.generateIfMissing && options.dataDir) {
    const dir = join(options.dataDir, 'secrets');
    const file = join(dir, 'master.key');
    if (existsSync(file)) return { key: readKeyFile(file, file, options.logger), source: 'data-dir' };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const key = randomBytes(KEY_BYTES);
    // 'wx': never overwrite a key another process wrote in the meantime; losing it would make all PII unreadable.
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    options.logger?.warn({ file },
      '已生成演示用主密钥；生产环境必须设置 VOCHUB_MASTER_KEY 或 VOCHUB_MASTER_KEY_FILE / generated a demo master key; production must set VOCHUB_MASTER_KEY or VOCHUB_MASTER_KEY_FILE');
    return { key, source: 'generated' };
  }
  throw new VochubError('MASTER_KEY_MISSING',
    '未配置主密钥：请设置 VOCHUB_MASTER_KEY 或 VOCHUB_MASTER_KEY_FILE / No master key: set VOCHUB_MASTER_KEY or VOCHUB_MASTER_KEY_FILE',
    { status: 500 });
}

function subKeyBytes(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, HKDF_SALT, `vochub/${purpose}/v1`, KEY_BYTES));
}

function subKey(master: Buffer, purpose: string): KeyObject {
  const bytes = subKeyBytes(master, purpose);
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return key;
}

const SHA256_BLOCK = 64;
const SHA256_BYTES = 32;

/**
 * HMAC-SHA256 (RFC 2104) over two one-shot hashes. The result is byte-for-byte createHmac's, but
 * createHmac builds a native object per call (~4–7 µs here) and protect() needs three per record;
 * two crypto.hash calls over a reused scratch buffer cost ~1.5 µs. The padded keys live only here.
 */
class FastHmac {
  readonly #outer: Buffer;
  #inner: Buffer;

  constructor(key: Buffer) {
    // Keys are 32 bytes (HKDF output): shorter than the block, so they are zero-padded, never hashed.
    this.#inner = Buffer.alloc(SHA256_BLOCK + 1024, 0x36);
    this.#outer = Buffer.alloc(SHA256_BLOCK + SHA256_BYTES, 0x5c);
    for (let i = 0; i < key.length; i++) {
      this.#inner[i]! ^= key[i]!;
      this.#outer[i]! ^= key[i]!;
    }
    key.fill(0);
  }

  digest(message: string): string {
    // Worst case 3 UTF-8 bytes per UTF-16 unit: grow the scratch buffer before writing.
    const need = SHA256_BLOCK + message.length * 3;
    if (need > this.#inner.length) {
      const grown = Buffer.alloc(need);
      this.#inner.copy(grown, 0, 0, SHA256_BLOCK);
      this.#inner = grown;
    }
    const n = this.#inner.write(message, SHA256_BLOCK, 'utf8');
    const inner = oneShotHash('sha256', this.#inner.subarray(0, SHA256_BLOCK + n), 'buffer');
    inner.copy(this.#outer, SHA256_BLOCK);
    return oneShotHash('sha256', this.#outer, 'base64url');
  }
}

/** Canonical JSON: object keys sorted (code-unit order) at every depth, so key order never changes a hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // undefined/functions have no JSON form; inside objects they are skipped like JSON.stringify does.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item = value[i];
      out += item === undefined || typeof item === 'function' ? 'null' : canonicalJson(item);
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = sortedKeys(obj);
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = obj[key];
    if (item === undefined || typeof item === 'function') continue;
    out += (first ? '' : ',') + quoteKey(key) + ':';
    first = false;
    // Strings are by far the common case in records: skip the recursive call for them.
    out += typeof item === 'string' ? JSON.stringify(item) : canonicalJson(item);
  }
  return out + '}';
}

// Records of one source share one key order: remember the last order seen and its sorted form.
let lastKeys: string[] = [];
let lastSorted: string[] = [];
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  if (keys.length === lastKeys.length) {
    let same = true;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== lastKeys[i]) { same = false; break; }
    }
    if (same) return lastSorted;
  }
  lastKeys = keys;
  lastSorted = [...keys].sort();
  return lastSorted;
}

const PLAIN_KEY = /^[A-Za-z0-9_$-]*$/;
function quoteKey(key: string): string {
  return PLAIN_KEY.test(key) ? `"${key}"` : JSON.stringify(key);
}

/** Normalises a matchable value before its lookup HMAC, so formatting differences still match. */
export function normaliseForLookup(piiClass: PiiClass, value: string): string {
  const text = value.normalize('NFKC').trim();
  switch (piiClass) {
    case 'id-number':
      return text.replace(/\s+/g, '').toUpperCase();
    case 'phone': {
      const digits = text.replace(/\D+/g, '');
      // +86 138… and 138… are the same mobile number.
      return digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
    }
    case 'email':
      return text.toLowerCase();
    default:
      return text;
  }
}

const LOOKUP_CLASSES: ReadonlySet<PiiClass> = new Set(['id-number', 'phone', 'email']);

// Code points, not UTF-16 units: a name with 𠮷 must never be cut into a lone surrogate.
function chars(text: string): string[] {
  return Array.from(text);
}

/** Masks one PII value by its class. Short values are masked completely rather than revealing most of them. */
export function maskValue(piiClass: PiiClass, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value !== 'string') return '***';
  if (value === '') return value;
  switch (piiClass) {
    case 'id-number': {
      const c = chars(value);
      if (c.length <= 10) return '*'.repeat(c.length);
      return c.slice(0, 6).join('') + '*'.repeat(c.length - 10) + c.slice(-4).join('');
    }
    case 'phone': {
      const c = chars(value);
      if (c.length <= 7) return '*'.repeat(c.length);
      return c.slice(0, 3).join('') + '*'.repeat(c.length - 7) + c.slice(-4).join('');
    }
    case 'birth-date':
      return /^\d{4}/.test(value) ? `${value.slice(0, 4)}-**-**` : '***';
    case 'address': {
      const c = chars(value);
      const keep = Math.min(6, Math.floor(c.length / 2));
      return c.slice(0, keep).join('') + '***';
    }
    case 'email': {
      const at = value.lastIndexOf('@');
      if (at <= 0) return '***';
      return chars(value.slice(0, at))[0] + '***' + value.slice(at);
    }
    case 'name': {
      const c = chars(value);
      if (c.length <= 1) return '*';
      return c[0] + '*'.repeat(c.length - 1);
    }
    default:
      return '***';
  }
}

interface ContractPlan {
  classes: Map<string, PiiClass>;
  lookups: { field: string; class: PiiClass }[];
}

class AesGcmVault implements PiiVault {
  readonly source: MasterKeySource;
  private readonly encKey: KeyObject;
  private readonly lookupKey: FastHmac;
  private readonly hashKey: FastHmac;
  private readonly plans = new WeakMap<ContractInfo, ContractPlan>();
  // IVs come from a pooled CSPRNG buffer: one randomFillSync per 4096 records instead of one per record.
  private readonly ivPool = Buffer.alloc(IV_BYTES * 4096);
  private ivPos = this.ivPool.length;

  constructor(keys: VaultSubKeys, source: MasterKeySource) {
    this.source = source;
    this.encKey = keys.encryption;
    this.lookupKey = new FastHmac(keys.lookup.export());
    this.hashKey = new FastHmac(keys.contentHash.export());
    subKeysOf.set(this, keys);
  }

  private plan(contract: ContractInfo): ContractPlan {
    let plan = this.plans.get(contract);
    if (!plan) {
      const classes = new Map<string, PiiClass>();
      for (const p of contract.pii) classes.set(p.field, p.class);
      plan = { classes, lookups: contract.pii.filter((p) => LOOKUP_CLASSES.has(p.class)) };
      this.plans.set(contract, plan);
    }
    return plan;
  }

  private nextIv(): Buffer {
    if (this.ivPos + IV_BYTES > this.ivPool.length) {
      randomFillSync(this.ivPool);
      this.ivPos = 0;
    }
    // A view, not a copy: the cipher consumes it and encryptText concatenates it before the pool is refilled.
    const iv = this.ivPool.subarray(this.ivPos, this.ivPos + IV_BYTES);
    this.ivPos += IV_BYTES;
    return iv;
  }

  encryptText(text: string): string {
    const iv = this.nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    const body = cipher.update(text, 'utf8');
    const last = cipher.final();
    const tag = cipher.getAuthTag();
    return `${FORMAT}.${Buffer.concat([iv, tag, body, last]).toString('base64')}`;
  }

  decryptText(ciphertext: string): string {
    if (typeof ciphertext !== 'string' || !ciphertext.startsWith(`${FORMAT}.`)) {
      throw new VochubError('PII_FORMAT_UNKNOWN', '密文格式未知 / Unknown ciphertext format', { status: 500 });
    }
    const raw = Buffer.from(ciphertext.slice(FORMAT.length + 1), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) {
      throw new VochubError('PII_DECRYPT_FAILED', '密文已损坏 / Ciphertext is damaged', { status: 500 });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encKey, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const body = decipher.update(raw.subarray(IV_BYTES + TAG_BYTES));
      return Buffer.concat([body, decipher.final()]).toString('utf8');
    } catch (cause) {
      // GCM authentication failed: tampered data or another master key. Never return partial plaintext.
      throw new VochubError('PII_DECRYPT_FAILED', '密文校验失败（被篡改或密钥不符） / Ciphertext failed authentication (tampered or wrong key)',
        { status: 500, cause });
    }
  }

  lookupHash(kind: string, value: string): string {
    return this.lookupKey.digest(`${kind}\u0000${value}`);
  }

  protect(contract: ContractInfo, record: Record<string, unknown>): ProtectedRecord {
    const { classes, lookups } = this.plan(contract);
    const data: Record<string, unknown> = {};
    let pii: Record<string, unknown> | null = null;
    for (const field in record) {
      const value = record[field];
      if (value === undefined) continue;
      if (classes.has(field)) (pii ??= {})[field] = value;
      else data[field] = value;
    }
    const lookup: Record<string, string> = {};
    if (pii !== null) {
      for (const { field, class: piiClass } of lookups) {
        const value = pii[field];
        if (typeof value === 'string' && value.trim() !== '') {
          lookup[field] = this.lookupHash(field, normaliseForLookup(piiClass, value));
        }
      }
    }
    return {
      data,
      pii: pii === null ? null : this.encryptText(JSON.stringify(pii)),
      lookup,
      hash: this.hashKey.digest(canonicalJson(record)),
    };
  }

  reveal(stored: { data: Record<string, unknown>; pii: string | null }): Record<string, unknown> {
    if (stored.pii === null || stored.pii === undefined) return { ...stored.data };
    const pii = JSON.parse(this.decryptText(stored.pii)) as Record<string, unknown>;
    return { ...stored.data, ...pii };
  }

  mask(contract: ContractInfo, record: Record<string, unknown>): Record<string, unknown> {
    const { classes } = this.plan(contract);
    const out: Record<string, unknown> = { ...record };
    for (const [field, piiClass] of classes) {
      if (field in out) out[field] = maskValue(piiClass, out[field]);
    }
    return out;
  }
}

/**
 * The vault's derived sub-keys (HKDF of the master key, one per purpose) as KeyObjects: what a worker
 * thread of the same process needs to open an equal vault (KeyObjects cross `postMessage`/`workerData`
 * without ever becoming a string). The master key itself is zeroed once these are derived.
 */
export interface VaultSubKeys {
  encryption: KeyObject;
  lookup: KeyObject;
  contentHash: KeyObject;
}

// Module-private: only code that imports this module on purpose (the import pipeline's worker) can get them.
const subKeysOf = new WeakMap<AesGcmVault, VaultSubKeys>();

function deriveSubKeys(master: Buffer): VaultSubKeys {
  const keys = { encryption: subKey(master, 'encryption'), lookup: subKey(master, 'lookup'), contentHash: subKey(master, 'content-hash') };
  master.fill(0);
  return keys;
}

/** Opens the PII vault. Throws MASTER_KEY_MISSING / MASTER_KEY_INVALID: the hub must not start without its key. */
export function loadVault(options: LoadVaultOptions = {}): PiiVault & { readonly source: MasterKeySource } {
  const { key, source } = resolveMasterKey(options);
  return new AesGcmVault(deriveSubKeys(key), source);
}

/** The sub-keys of a vault opened by loadVault, for a worker thread; undefined for any other PiiVault. */
export function vaultSubKeys(vault: PiiVault): VaultSubKeys | undefined {
  return vault instanceof AesGcmVault ? subKeysOf.get(vault) : undefined;
}

/** A vault equal to the one the sub-keys came from (same ciphertext keys, lookups and content hashes). Worker threads only. */
export function vaultFromSubKeys(keys: VaultSubKeys, source: MasterKeySource): PiiVault {
  return new AesGcmVault(keys, source);
}
