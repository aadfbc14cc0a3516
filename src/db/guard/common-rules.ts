import type { WordRule } from './statement-guard.ts';

/**
 * Rules every dialect shares: the words that change data or schema wherever they appear (a CTE,
 * a subquery, a second statement), and the reasons for statement kinds no environment runs.
 */

const CHANGES_DATA = 'changes data';
const CHANGES_SCHEMA = 'changes the schema';

/** Words that change data or schema in any position; read-only environments refuse them anywhere. */
export const DATA_CHANGE_WORDS: Readonly<Record<string, WordRule>> = {
  INSERT: { reason: `INSERT ${CHANGES_DATA}` },
  UPDATE: { reason: `UPDATE ${CHANGES_DATA}` },
  DELETE: { reason: `DELETE ${CHANGES_DATA}` },
  MERGE: { reason: `MERGE ${CHANGES_DATA}` },
  UPSERT: { reason: `UPSERT ${CHANGES_DATA}` },
  REPLACE: { reason: `REPLACE ${CHANGES_DATA}`, unlessFollowedBy: ['('] },
  CREATE: { reason: `CREATE ${CHANGES_SCHEMA}` },
  ALTER: { reason: `ALTER ${CHANGES_SCHEMA}` },
  DROP: { reason: `DROP ${CHANGES_SCHEMA}` },
  TRUNCATE: { reason: `TRUNCATE ${CHANGES_DATA}`, unlessFollowedBy: ['('] },
  RENAME: { reason: `RENAME ${CHANGES_SCHEMA}` },
  GRANT: { reason: 'GRANT changes permissions', alsoInWrites: true },
  REVOKE: { reason: 'REVOKE changes permissions', alsoInWrites: true }
};

export const TRANSACTION_REASON = 'controls the transaction sqlbridge runs every statement in';
export const SESSION_REASON = 'changes the database session, which other callers share';
/** Why views of running statements are refused: every caller of an environment shares its login. */
export const OTHER_CALLERS =
  'shows the statements other sessions run: other callers’ queries, since every caller shares the environment’s login';

/** Statement kinds that change the transaction or the session, refused in every environment. */
export function transactionStatements(keywords: readonly string[]): Record<string, string> {
  return Object.fromEntries(keywords.map(k => [k, `${k} ${TRANSACTION_REASON}`]));
}

/** Word rules for transaction control that apply everywhere (T-SQL, where statements need no semicolon). */
export function transactionWords(keywords: readonly string[]): Record<string, WordRule> {
  return Object.fromEntries(keywords.map(k => [k, { reason: `${k} ${TRANSACTION_REASON}`, alsoInWrites: true }]));
}
