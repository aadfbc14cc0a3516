import { describe, expect, it } from 'vitest';
import { consentPage } from '../../src/auth/server/pages.ts';

describe('consent page', () => {
  const page = consentPage({
    environment: 'production',
    clientName: 'Reporting <Portal>',
    redirectHost: 'reports.example.com',
    username: 'ana',
    scopes: ['sql:read'],
    action: '/production/interaction/abc/confirm',
    csrf: 'token'
  });

  it('shows the application under the name it is registered with, which may be an administrator’s', () => {
    // Pre-registered clients are named by the administrator (auth.clients[].name), not by themselves.
    expect(page).toContain('Reporting &lt;Portal&gt; <span class="note">(the name it is registered under)</span>');
    expect(page).not.toContain('gave itself');
  });

  it('states where the browser returns and what may be done', () => {
    expect(page).toContain('<dd>reports.example.com</dd>');
    expect(page).toContain('Read data with SQL queries');
  });
});
