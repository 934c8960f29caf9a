import type { Kysely } from 'kysely';

/** How many lockouts in a row a throttle key has earned; each doubles the next window. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('throttle')
    .addColumn('strikes', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('throttle').dropColumn('strikes').execute();
}
