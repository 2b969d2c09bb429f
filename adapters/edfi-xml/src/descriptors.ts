// Ed-Fi descriptors are URIs (`uri://ed-fi.org/SexDescriptor#Female`); the part after '#' is the CodeValue.
// Our mapping tables (../mappings/*.json) are keyed by CodeValue, matched case-insensitively, so a district that
// re-publishes the default descriptors under its own namespace (`uri://gbisd.edu/SexDescriptor#Female`) still maps.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const mappingsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'mappings');

export function codeValue(descriptor: string): string {
  const hash = descriptor.lastIndexOf('#');
  return (hash < 0 ? descriptor : descriptor.slice(hash + 1)).trim();
}

export class DescriptorTable<T> {
  private readonly byCode = new Map<string, T>();

  constructor(readonly name: string, entries: Record<string, T>) {
    for (const [code, value] of Object.entries(entries)) {
      if (code.startsWith('$')) continue;
      this.byCode.set(code.toLowerCase(), value);
    }
  }

  static load<T>(name: string): DescriptorTable<T> {
    const raw = JSON.parse(readFileSync(resolve(mappingsDir, `${name}.json`), 'utf8')) as Record<string, T>;
    return new DescriptorTable<T>(name, raw);
  }

  /** Maps a descriptor URI (or a bare CodeValue); undefined when the table has no entry. */
  lookup(descriptor: string): T | undefined {
    return this.byCode.get(codeValue(descriptor).toLowerCase());
  }
}

export interface OrganizationTypeEntry {
  type: string;
  idElement: string;
}

export interface ClassroomPositionEntry {
  role: string;
  primary: boolean;
}

export const sexTable = DescriptorTable.load<string>('sex');
export const attendanceCategoryTable = DescriptorTable.load<string>('attendance-category');
export const termTypeTable = DescriptorTable.load<string>('term-type');
export const classroomPositionTable = DescriptorTable.load<ClassroomPositionEntry>('classroom-position');

const organizationTypes = JSON.parse(readFileSync(resolve(mappingsDir, 'organization-type.json'), 'utf8')) as Record<string, OrganizationTypeEntry>;
delete (organizationTypes as Record<string, unknown>)['$comment'];
/** Keyed by element name (exact): these are XML element names, not descriptor values. */
export const organizationTypeByElement: ReadonlyMap<string, OrganizationTypeEntry> = new Map(Object.entries(organizationTypes));
