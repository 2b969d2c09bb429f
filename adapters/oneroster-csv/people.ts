// People: users.csv joined with the files that describe them (roles.csv, demographics.csv, userProfiles.csv,
// SDS relationships.csv and userFlags.csv) into person / student / staff records. Needs every user row
// before it emits (C19 merges several sourcedIds of one human), so users are held in memory: one small
// object per user, not per enrollment.
import type { Problem } from '../../core/errors.ts';
import type { SourceRecord } from '../../core/plugins/types.ts';
import { nfkc } from '../../core/ingest/clean.ts';
import { addExtras, splitList, type Header, type RowContext } from './row.ts';
import { contractForRoles, ROLE_CANONICAL, ROLE_CONTRACT, type PeopleContract } from './tables.ts';
import { bool, displayName, isoDate, rowStatus, sexCode, type FileMode } from './values.ts';

export interface RoleEntry {
  role: string;
  orgId?: string;
  primary?: boolean;
  beginDate?: string;
  endDate?: string;
}

interface UserRow {
  key: string;
  file: string;
  line: number;
  op: 'upsert' | 'delete';
  status?: 'active' | 'inactive';
  username: string;
  identifier: string;
  email: string;
  givenName: string;
  familyName: string;
  middleName: string;
  phone: string;
  /** Roles given on the users row itself (OneRoster 1.1 `role` + `orgSourcedIds`). */
  roles: RoleEntry[];
  primaryOrgId: string;
  /** OneRoster 1.2 files that still carry orgSourcedIds without a role column */
  orgIds: string[];
  ext: Record<string, unknown>;
  modified?: string;
}

interface Demographics {
  sex?: string;
  birthDate?: string;
  ext: Record<string, unknown>;
}

interface Relationship {
  personId: string;
  role: string;
}

/** What the people step needs to know about the files it reads. */
export interface PeopleOptions {
  /** OneRoster users/roles file modes; undefined = SDS (no status rules). */
  usersMode?: FileMode;
  rolesMode?: FileMode;
  demographicsMode?: FileMode;
  profilesMode?: FileMode;
}

const USER_KNOWN = new Set([
  'sourcedid', 'status', 'datelastmodified', 'enableduser', 'orgsourcedids', 'role', 'username', 'userids', 'givenname', 'familyname',
  'middlename', 'identifier', 'email', 'sms', 'phone', 'agentsourcedids', 'grades', 'primaryorgsourcedid',
]);
const DEMO_KNOWN = new Set(['sourcedid', 'usersourcedid', 'status', 'datelastmodified', 'sex', 'birthdate']);

export const PEOPLE_COLUMNS: Record<string, string> = {
  id: 'sourcedId', givenName: 'givenName', familyName: 'familyName', name: 'givenName', username: 'username', identifier: 'identifier',
  email: 'email', phone: 'phone', sex: 'sex', birthDate: 'birthDate', roles: 'role', orgIds: 'orgSourcedIds',
  studentNumber: 'identifier', staffNumber: 'identifier', schoolId: 'orgSourcedIds', orgId: 'orgSourcedIds',
};

/** Role of a row; `known: false` for a role outside our vocabulary (kept in extensions.unmappedRoles). */
function roleEntry(ctx: RowContext, key: string): { canonical: string; lower: string; known: boolean } | undefined {
  const raw = ctx.get(key);
  if (raw === '') return undefined;
  const lower = raw.toLowerCase();
  const canonical = ROLE_CANONICAL[lower];
  if (canonical === undefined) {
    ctx.report('ONEROSTER_ROLE_UNKNOWN', 'warning', key, `角色无法识别，记入 extensions.unmappedRoles，不决定记录类型 / unknown role, kept in extensions.unmappedRoles, does not decide the contract`, raw, 'roles');
    return { canonical: raw, lower, known: false };
  }
  return { canonical, lower, known: true };
}

function pushUnique<T>(list: T[], value: T): void {
  if (!list.includes(value)) list.push(value);
}

export class PeopleBuilder {
  private readonly users: UserRow[] = [];
  private readonly userIndex = new Map<string, UserRow>();
  /** user sourcedId → roles from roles.csv (upserts) */
  private readonly roles = new Map<string, RoleEntry[]>();
  /** user sourcedId → lower-case role keys, incl. roles being deleted: picks the contract of a user delete */
  private readonly roleKeys = new Map<string, string[]>();
  private readonly rolesExt = new Map<string, { grades: string[]; sessions: string[] }>();
  /** user sourcedId → roles outside our vocabulary */
  private readonly unmapped = new Map<string, string[]>();
  private readonly demographics = new Map<string, Demographics>();
  private readonly relationships = new Map<string, Relationship[]>();
  private readonly relationshipOf = new Map<string, Relationship[]>();
  private readonly flags = new Map<string, string[]>();
  private readonly profiles = new Map<string, Record<string, string>[]>();
  /** rows of side files, to report those that name an unknown user */
  private readonly references: { userId: string; file: string; line: number; column: string }[] = [];
  /** a users/roles row was rejected: the set of people is not complete */
  rejected = 0;

  constructor(private readonly options: PeopleOptions) {}

  private reference(ctx: RowContext, userId: string, key: string): void {
    this.references.push({ userId, file: ctx.file, line: ctx.line, column: ctx.header.name(key) });
  }

  /** OneRoster 1.2 roles.csv and SDS v2.1 roles.csv (one row per user, org and role). */
  addRole(ctx: RowContext): void {
    ctx.contract = undefined;
    const userId = ctx.required('usersourcedid', 'id');
    ctx.key = userId || undefined;
    const mode = this.options.rolesMode;
    const st = mode === undefined ? { op: 'upsert' as const } : rowStatus(ctx, mode);
    const role = roleEntry(ctx, 'role');
    if (role === undefined) ctx.required('role', 'roles');
    const org = st.op === 'delete' ? ctx.get('orgsourcedid') : ctx.required('orgsourcedid', 'roles');
    if (ctx.bad || role === undefined) {
      if (ctx.bad) this.rejected++;
      return;
    }
    this.reference(ctx, userId, 'usersourcedid');
    const keys = this.roleKeys.get(userId);
    if (keys === undefined) this.roleKeys.set(userId, [role.lower]);
    else pushUnique(keys, role.lower);
    if (st.op === 'delete') return;
    if (!role.known) {
      addUnique(this.unmapped, userId, role.canonical);
      return;
    }
    const entry: RoleEntry = { role: role.canonical, orgId: org };
    const roleType = ctx.get('roletype').toLowerCase();
    const primary = roleType !== '' ? roleType === 'primary' : bool(ctx, 'isprimary', 'roles');
    if (primary !== undefined) entry.primary = primary;
    const begin = isoDate(ctx, ctx.header.has('begindate') ? 'begindate' : 'rolestartdate', 'roles');
    const end = isoDate(ctx, ctx.header.has('enddate') ? 'enddate' : 'roleenddate', 'roles');
    if (ctx.bad) {
      this.rejected++;
      return;
    }
    if (begin !== undefined) entry.beginDate = begin;
    if (end !== undefined) entry.endDate = end;
    const list = this.roles.get(userId);
    if (list === undefined) this.roles.set(userId, [entry]);
    else list.push(entry);
    const grade = ctx.get('grade');
    const session = ctx.get('sessionsourcedid');
    if (grade !== '' || session !== '') {
      let e = this.rolesExt.get(userId);
      if (e === undefined) this.rolesExt.set(userId, (e = { grades: [], sessions: [] }));
      if (grade !== '') pushUnique(e.grades, grade);
      if (session !== '') pushUnique(e.sessions, session);
    }
  }

  addDemographics(ctx: RowContext, extras: [string, string][]): void {
    const userId = ctx.header.has('usersourcedid') ? ctx.required('usersourcedid', 'id') : ctx.required('sourcedid', 'id');
    ctx.key = userId || undefined;
    const mode = this.options.demographicsMode;
    const st = mode === undefined ? { op: 'upsert' as const } : rowStatus(ctx, mode);
    if (ctx.bad) return;
    this.reference(ctx, userId, ctx.header.has('usersourcedid') ? 'usersourcedid' : 'sourcedid');
    if (st.op === 'delete') return;
    const d: Demographics = { ext: {} };
    const sex = sexCode(ctx, 'sex');
    if (sex !== undefined) d.sex = sex;
    const birth = isoDate(ctx, 'birthdate', 'birthDate');
    if (ctx.bad) return;
    if (birth !== undefined) d.birthDate = birth;
    addExtras(ctx, extras, d.ext);
    this.demographics.set(userId, d);
  }

  static demographicsExtras(header: Header): [string, string][] {
    return header.extras(DEMO_KNOWN);
  }

  /** SDS v2.1 relationships.csv: the related user is a guardian/relative (person) of the student. */
  addRelationship(ctx: RowContext): void {
    const userId = ctx.required('usersourcedid', 'id');
    const otherId = ctx.required('relationshipusersourcedid', 'id');
    const raw = ctx.required('relationshiprole', 'roles');
    if (ctx.bad) return;
    const role = ROLE_CANONICAL[raw.toLowerCase()] ?? raw;
    if (ROLE_CANONICAL[raw.toLowerCase()] === undefined) {
      ctx.report('ONEROSTER_ROLE_UNKNOWN', 'warning', 'relationshiprole', `关系角色无法识别，按原值保留 / unknown relationship role, kept as is`, raw, 'roles');
    }
    this.reference(ctx, userId, 'usersourcedid');
    this.reference(ctx, otherId, 'relationshipusersourcedid');
    const lower = role.toLowerCase();
    if (ROLE_CONTRACT[lower] === undefined) return;
    // Both sides keep the link: the student lists its guardians, the guardian whom it is guardian of.
    addTo(this.relationships, userId, { personId: otherId, role });
    addTo(this.relationshipOf, otherId, { personId: userId, role });
    addUnique(this.roleKeys, otherId, lower);
  }

  /** SDS v2.1 userFlags.csv → extensions.flags. */
  addFlag(ctx: RowContext): void {
    const userId = ctx.required('usersourcedid', 'id');
    const flag = ctx.required('flag', 'extensions');
    if (ctx.bad) return;
    this.reference(ctx, userId, 'usersourcedid');
    const list = this.flags.get(userId);
    if (list === undefined) this.flags.set(userId, [flag]);
    else pushUnique(list, flag);
  }

  /** OneRoster 1.2 userProfiles.csv → extensions.profiles, without credentials (password is never read). */
  addProfile(ctx: RowContext): void {
    const userId = ctx.required('usersourcedid', 'id');
    const mode = this.options.profilesMode;
    const st = mode === undefined ? { op: 'upsert' as const } : rowStatus(ctx, mode);
    if (ctx.bad || st.op === 'delete') return;
    this.reference(ctx, userId, 'usersourcedid');
    const profile: Record<string, string> = {};
    for (const [k, name] of [['sourcedid', 'id'], ['profiletype', 'profileType'], ['vendorid', 'vendorId'], ['applicationid', 'applicationId'], ['description', 'description'], ['credentialtype', 'credentialType'], ['username', 'username']] as const) {
      const v = ctx.get(k);
      if (v !== '') profile[name] = v;
    }
    const list = this.profiles.get(userId);
    if (list === undefined) this.profiles.set(userId, [profile]);
    else list.push(profile);
  }

  static userExtras(header: Header): [string, string][] {
    return header.extras(USER_KNOWN);
  }

  addUser(ctx: RowContext, extras: [string, string][]): void {
    ctx.contract = undefined;
    const key = ctx.required('sourcedid', 'id');
    ctx.key = key || undefined;
    const mode = this.options.usersMode;
    const st = mode === undefined ? { op: 'upsert' as const } : rowStatus(ctx, mode);
    const row: UserRow = {
      key,
      file: ctx.file,
      line: ctx.line,
      op: st.op,
      username: ctx.get('username'),
      identifier: ctx.get('identifier'),
      email: ctx.get('email'),
      givenName: ctx.get('givenname'),
      familyName: ctx.get('familyname'),
      middleName: ctx.get('middlename'),
      // sms is a phone number too; kept only as the fallback phone so it is protected as PII, never in clear extensions.
      phone: ctx.pick('phone', 'sms'),
      roles: [],
      primaryOrgId: ctx.get('primaryorgsourcedid'),
      orgIds: [],
      ext: {},
    };
    if (st.status !== undefined) row.status = st.status;
    if (st.modified !== undefined) row.modified = st.modified;
    if (ctx.header.has('role')) {
      // OneRoster 1.1: one role per users row, held in every org of orgSourcedIds (required by the spec).
      const role = st.op === 'delete' && ctx.get('role') === '' ? undefined : roleEntry(ctx, 'role');
      if (role === undefined && st.op !== 'delete') ctx.required('role', 'roles');
      const orgs = splitList(ctx.get('orgsourcedids'));
      if (orgs.length === 0 && st.op !== 'delete') ctx.required('orgsourcedids', 'orgIds');
      if (role !== undefined) {
        if (role.known) for (const orgId of orgs) row.roles.push({ role: role.canonical, orgId });
        else row.ext.unmappedRoles = [role.canonical];
        addUnique(this.roleKeys, key, role.lower);
      }
      row.orgIds = orgs;
    } else {
      row.orgIds = splitList(ctx.get('orgsourcedids'));
    }
    if (st.op === 'upsert') {
      const enabled = bool(ctx, 'enableduser', 'extensions');
      if (enabled !== undefined) row.ext.enabledUser = enabled;
      const userIds = splitList(ctx.get('userids'));
      if (userIds.length > 0) row.ext.userIds = userIds;
      const agents = splitList(ctx.get('agentsourcedids'));
      if (agents.length > 0) row.ext.agentIds = agents;
      const grades = splitList(ctx.get('grades'));
      if (grades.length > 0) row.ext.grades = grades;
      if (row.middleName !== '') row.ext.middleName = row.middleName;
      addExtras(ctx, extras, row.ext);
    }
    if (!ctx.bad && this.userIndex.has(key)) {
      ctx.report('ONEROSTER_DUPLICATE_ID', 'error', 'sourcedid', `sourcedId 在文件中重复，后一行未应用 / sourcedId repeats in the file; the later row is not applied`, key, 'id');
    }
    if (ctx.bad) {
      this.rejected++;
      return;
    }
    this.users.push(row);
    this.userIndex.set(key, row);
  }

  /** Rows of side files that name a user missing from users.csv: reported, not applied. */
  orphans(): Problem[] {
    const out: Problem[] = [];
    for (const r of this.references) {
      if (this.userIndex.has(r.userId)) continue;
      out.push({
        code: 'ONEROSTER_USER_UNKNOWN',
        severity: 'warning',
        message: `引用的用户不在本批 users.csv 中，该行未应用 / the row names a user that is not in this bundle's users.csv; not applied`,
        file: r.file,
        line: r.line,
        column: r.column,
        value: r.userId,
      });
    }
    return out;
  }

  private rolesOf(u: UserRow): RoleEntry[] {
    const fromFile = this.roles.get(u.key);
    const rel = this.relationshipOf.get(u.key);
    if (fromFile === undefined && rel === undefined) return u.roles;
    const out = fromFile === undefined ? [...u.roles] : [...u.roles, ...fromFile];
    if (rel !== undefined) {
      // A guardian holds the role at the school of the student it is linked to (roles[].orgId is required).
      for (const r of rel) {
        const student = this.userIndex.get(r.personId);
        const studentRoles = student === undefined ? undefined : [...student.roles, ...(this.roles.get(student.key) ?? [])];
        const orgId = studentRoles?.find((x) => x.primary === true)?.orgId ?? studentRoles?.[0]?.orgId;
        if (orgId !== undefined && !out.some((x) => x.role === r.role && x.orgId === orgId)) out.push({ role: r.role, orgId });
      }
    }
    return out;
  }

  /** Known roles the user holds in this bundle (deleted roles excluded): they decide the contract. */
  private roleKeysOf(u: UserRow): string[] {
    const keys: string[] = [];
    for (const r of this.rolesOf(u)) pushUnique(keys, r.role.toLowerCase());
    for (const r of this.relationshipOf.get(u.key) ?? []) pushUnique(keys, r.role.toLowerCase());
    return keys;
  }

  /**
   * Builds the records in users.csv order of each person's first row. Several sourcedIds of one human
   * (same username, identifier and email; username and identifier non-empty) become ONE record: key =
   * the smallest sourcedId among the rows whose role belongs to the chosen contract, the others `aliases`.
   */
  build(): { records: SourceRecord[]; problems: Problem[] } {
    const problems: Problem[] = [];
    const records: SourceRecord[] = [];
    const groups = new Map<string, UserRow[]>();
    const order: UserRow[][] = [];
    for (const u of this.users) {
      if (u.op === 'delete') {
        order.push([u]);
        continue;
      }
      if (u.username === '' || u.identifier === '') {
        order.push([u]);
        continue;
      }
      const id = `${nfkc(u.username).toLowerCase()}\u0000${nfkc(u.identifier)}\u0000${nfkc(u.email).toLowerCase()}`;
      const g = groups.get(id);
      if (g === undefined) {
        const list = [u];
        groups.set(id, list);
        order.push(list);
      } else g.push(u);
    }
    for (const group of order) {
      const first = group[0]!;
      if (first.op === 'delete') {
        for (const contract of this.deleteContracts(first)) {
          records.push({ contract, key: first.key, op: 'delete', data: { id: first.key }, location: { file: first.file, line: first.line } });
        }
        continue;
      }
      const rec = this.person(group, problems);
      if (rec !== undefined) records.push(rec);
    }
    return { records, problems };
  }

  private deleteContracts(u: UserRow): PeopleContract[] {
    const keys = this.roleKeys.get(u.key);
    if (keys !== undefined && keys.some((k) => ROLE_CONTRACT[k] !== undefined)) return [contractForRoles(keys)];
    // Role unknown (OneRoster 1.2 delta without roles rows): the delete goes to every people contract;
    // the store reports `missing` for the two that never held the key.
    return ['person', 'student', 'staff'];
  }

  private person(group: UserRow[], problems: Problem[]): SourceRecord | undefined {
    const allRoles: RoleEntry[] = [];
    const roleKeys: string[] = [];
    for (const u of group) {
      for (const r of this.rolesOf(u)) {
        if (!allRoles.some((x) => x.role === r.role && x.orgId === r.orgId)) allRoles.push(r);
      }
      for (const k of this.roleKeysOf(u)) pushUnique(roleKeys, k);
    }
    const first = group[0]!;
    if (roleKeys.length === 0) {
      // In a delta we cannot tell which contract an unchanged role puts the user in: refuse rather than guess.
      const delta = this.options.usersMode === 'delta';
      problems.push({
        code: 'ONEROSTER_USER_NO_ROLE',
        severity: delta ? 'error' : 'warning',
        message: delta
          ? `增量用户行没有角色（本批无 roles 行），无法确定记录类型，未应用 / delta user row without roles in this bundle: contract unknown, not applied`
          : `用户没有任何角色，记为 person / user has no role, recorded as person`,
        file: first.file,
        line: first.line,
        key: first.key,
      });
      if (delta) {
        this.rejected++;
        return undefined;
      }
    }
    const contract = contractForRoles(roleKeys);
    const inContract = group.filter((u) => contract === 'person' || contractForRoles(this.roleKeysOf(u)) === contract);
    const keyRow = (inContract.length > 0 ? inContract : group).reduce((a, b) => (b.key < a.key ? b : a));
    const aliases = group.map((u) => u.key).filter((k) => k !== keyRow.key).sort();

    const data: Record<string, unknown> = { id: keyRow.key };
    const name = displayName(keyRow.givenName, keyRow.familyName, keyRow.middleName);
    if (name !== undefined) data.name = name;
    if (keyRow.familyName !== '') data.familyName = keyRow.familyName;
    if (keyRow.givenName !== '') data.givenName = keyRow.givenName;
    const demo = group.map((u) => this.demographics.get(u.key)).find((d) => d !== undefined);
    if (demo?.sex !== undefined) data.sex = demo.sex;
    if (demo?.birthDate !== undefined) data.birthDate = demo.birthDate;
    const phone = group.map((u) => u.phone).find((p) => p !== '');
    if (phone !== undefined) data.phone = phone;
    if (keyRow.email !== '') data.email = keyRow.email;
    if (keyRow.username !== '') data.username = keyRow.username;
    if (keyRow.identifier !== '') data.identifier = keyRow.identifier;
    const orgIds: string[] = [];
    if (keyRow.primaryOrgId !== '') orgIds.push(keyRow.primaryOrgId);
    for (const u of group) for (const o of u.orgIds) pushUnique(orgIds, o);
    for (const r of allRoles) if (r.orgId !== undefined) pushUnique(orgIds, r.orgId);
    data.orgIds = orgIds;
    data.roles = allRoles.map((r) => ({ ...r }));
    if (keyRow.status !== undefined) data.status = keyRow.status;
    if (keyRow.modified !== undefined) data.dateLastModified = keyRow.modified;

    if (contract === 'student') {
      if (keyRow.identifier !== '') data.studentNumber = keyRow.identifier;
      const org = orgOf(allRoles, 'student', keyRow.primaryOrgId);
      if (org !== undefined) data.schoolId = org;
    } else if (contract === 'staff') {
      if (keyRow.identifier !== '') data.staffNumber = keyRow.identifier;
      const org = orgOf(allRoles, 'staff', keyRow.primaryOrgId);
      if (org !== undefined) data.orgId = org;
    }

    const ext: Record<string, unknown> = {};
    for (const u of group) {
      for (const [k, v] of Object.entries(u.ext)) {
        if (Array.isArray(v)) {
          const list = (ext[k] as unknown[] | undefined) ?? [];
          for (const item of v) pushUnique(list, item);
          ext[k] = list;
        } else if (ext[k] === undefined) ext[k] = v;
      }
      const rx = this.rolesExt.get(u.key);
      if (rx !== undefined) {
        if (rx.grades.length > 0) ext.grades = mergeList(ext.grades, rx.grades);
        if (rx.sessions.length > 0) ext.sessionIds = mergeList(ext.sessionIds, rx.sessions);
      }
      const unmapped = this.unmapped.get(u.key);
      if (unmapped !== undefined) ext.unmappedRoles = mergeList(ext.unmappedRoles, unmapped);
      const flags = this.flags.get(u.key);
      if (flags !== undefined) ext.flags = mergeList(ext.flags, flags);
      const rel = this.relationships.get(u.key);
      if (rel !== undefined) ext.relationships = [...((ext.relationships as Relationship[] | undefined) ?? []), ...rel];
      const relOf = this.relationshipOf.get(u.key);
      if (relOf !== undefined) ext.relationshipOf = [...((ext.relationshipOf as Relationship[] | undefined) ?? []), ...relOf];
      const prof = this.profiles.get(u.key);
      if (prof !== undefined) ext.profiles = [...((ext.profiles as unknown[] | undefined) ?? []), ...prof];
    }
    if (demo !== undefined) for (const [k, v] of Object.entries(demo.ext)) if (ext[k] === undefined) ext[k] = v;
    if (Object.keys(ext).length > 0) data.extensions = ext;

    const rec: SourceRecord = { contract, key: keyRow.key, op: 'upsert', data, location: { file: keyRow.file, line: keyRow.line }, columns: PEOPLE_COLUMNS };
    if (aliases.length > 0) rec.aliases = aliases;
    return rec;
  }
}

function addUnique<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else pushUnique(list, value);
}

function addTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function mergeList(current: unknown, more: string[]): unknown[] {
  const list = Array.isArray(current) ? [...(current as unknown[])] : [];
  for (const m of more) pushUnique(list, m);
  return list;
}

function orgOf(roles: RoleEntry[], contract: PeopleContract, primaryOrgId: string): string | undefined {
  const mine = roles.filter((r) => ROLE_CONTRACT[r.role.toLowerCase()] === contract);
  const primary = mine.find((r) => r.primary === true && r.orgId !== undefined);
  if (primary !== undefined) return primary.orgId;
  if (primaryOrgId !== '' && mine.some((r) => r.orgId === primaryOrgId)) return primaryOrgId;
  return mine.find((r) => r.orgId !== undefined)?.orgId;
}
