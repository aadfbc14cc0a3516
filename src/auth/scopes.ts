/** The scopes a token for an environment may carry: writing only where the environment allows it. */
export function resourceScopes(readOnly: boolean): string[] {
  return readOnly ? ['sql:read'] : ['sql:read', 'sql:write'];
}
