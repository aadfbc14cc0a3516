/** The prompts every environment offers (prompts/list), named once for registration and completion. */
export const EXPLORE_DATABASE = 'explore_database';
export const EXPLAIN_QUERY = 'explain_query';
export const PROMPT_NAMES: readonly string[] = [EXPLORE_DATABASE, EXPLAIN_QUERY];
