// The TEST DIRECTORY authenticator: users with scrypt password hashes from a `${file:}` secret. A stand-in
// until the per-member LDAP bind source (issue 4 item 3) exists; the interface is what that source implements.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

export interface Affiliation {
  member: string;
  role: string;
}

export interface SsoIdentity {
  /** Stable subject: the directory username for now (the crosswalk's hub id later). */
  sub: string;
  name?: string;
  email?: string;
  affiliations: Affiliation[];
}

export interface Authenticator {
  authenticate(username: string, password: string): Promise<SsoIdentity | null>;
  find(sub: string): SsoIdentity | undefined;
}

interface DirectoryUser extends SsoIdentity {
  passwordHash: string;
}

export interface DirectoryProblem {
  code: 'SSO_DIRECTORY_INVALID';
  message: string;
  index?: number;
}

/** `scrypt:N:r:p:<salt base64>:<hash base64>` */
export async function hashPassword(password: string, N = 16384, r = 8, p = 1): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password.normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

async function verify(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split(':');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (!(N > 1 && r > 0 && p > 0) || expected.length < 16) return false;
  const actual = await scrypt(password.normalize('NFC'), salt, expected.length, { N, r, p, maxmem: 256 * N * r });
  return timingSafeEqual(actual, expected);
}

/** Parses the directory JSON; bad entries become problems (the rest load), never a throw. */
export function loadTestDirectory(text: string): { authenticator: Authenticator; problems: DirectoryProblem[] } {
  const problems: DirectoryProblem[] = [];
  const users = new Map<string, DirectoryUser>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    problems.push({ code: 'SSO_DIRECTORY_INVALID', message: '测试目录不是合法的 JSON / the test directory is not valid JSON' });
  }
  const list = (parsed as { users?: unknown } | undefined)?.users;
  if (parsed !== undefined && !Array.isArray(list)) problems.push({ code: 'SSO_DIRECTORY_INVALID', message: '缺少 users 数组 / no users array' });
  (Array.isArray(list) ? list : []).forEach((u: unknown, index) => {
    const e = u as Partial<DirectoryUser & { username: string }> | null;
    if (!e || typeof e.username !== 'string' || e.username === '' || typeof e.passwordHash !== 'string' || !e.passwordHash.startsWith('scrypt:')) {
      problems.push({ code: 'SSO_DIRECTORY_INVALID', message: `第 ${index + 1} 个用户缺少 username 或 scrypt passwordHash / user ${index} lacks username or scrypt passwordHash`, index });
      return;
    }
    const affiliations = Array.isArray(e.affiliations) ? e.affiliations.filter((a): a is Affiliation => typeof a?.member === 'string' && typeof a?.role === 'string') : [];
    users.set(e.username, { sub: e.username, name: e.name, email: e.email, affiliations, passwordHash: e.passwordHash });
  });
  // Unknown users are checked against a dummy hash so the response time does not reveal which usernames exist.
  const dummy = 'scrypt:16384:8:1:AAAAAAAAAAAAAAAAAAAAAA==:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  const strip = ({ passwordHash: _h, ...identity }: DirectoryUser): SsoIdentity => identity;
  return {
    problems,
    authenticator: {
      async authenticate(username, password) {
        const user = users.get(username);
        const ok = await verify(password, user?.passwordHash ?? dummy);
        return ok && user ? strip(user) : null;
      },
      find(sub) {
        const user = users.get(sub);
        return user ? strip(user) : undefined;
      },
    },
  };
}
