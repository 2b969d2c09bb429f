// Cleaning counts per import run (rule name → fields changed), so a run can say what the pipeline
// changed and under which rule of contracts/cleaning-rules.json. Nullable: older runs have none.
import type { Kysely, Migration } from 'kysely';

export function runCleaningMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('import_runs').addColumn('cleaning', 'text').execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('import_runs').dropColumn('cleaning').execute();
    },
  };
}
