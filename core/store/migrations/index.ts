// Migrations are provided in code (not read from a folder at run time) so they work the same from
// a clone, under tsx and in a bundled CLI; each driver gets its dialect's variant.
import type { Migration, MigrationProvider } from 'kysely';
import { initialMigration } from './0001-initial.ts';
import { runCleaningMigration } from './0002-run-cleaning.ts';

export type StoreDialect = 'sqlite' | 'postgres';

export function storeMigrations(dialect: StoreDialect): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return { '0001-initial': initialMigration(dialect), '0002-run-cleaning': runCleaningMigration() };
    },
  };
}
