import { describe, expect, it } from 'vitest';
import { consentPage, loginPage, type ClientIdentity } from '../../src/auth/server/pages.ts';

function consent(client: ClientIdentity): string {
  return consentPage({
    environment: 'production',
    client,
    redirectHost: 'reports.example.com',
    username: 'ana',
    scopes: ['sql:read'],
    action: '/production/interaction/abc/confirm',
    csrf: 'token'
  });
}

describe('consent page', () => {
  it('says who named the application: the administrator, or the application itself', () => {
    // Pre-registered clients are named by the administrator (auth.clients[].name), not by themselves.
    expect(consent({ name: 'Reporting <Portal>', source: 'configured' })).toContain(
      'Reporting &lt;Portal&gt; <span class="note">(the name the administrator gave it)</span>'
    );
    expect(consent({ name: 'Claude', source: 'self' })).toContain(
      'Claude <span class="note">(the name it gave itself when it registered)</span>'
    );
  });

  it('shows the host that publishes a metadata-document client, the one thing about it that was checked', () => {
    const page = consent({ name: 'Claude', source: 'document', publisher: 'evil.example' });
    expect(page).toContain('Claude <span class="note">(the name its published description gives)</span>');
    expect(page).toMatch(/<dt>Published by<\/dt>\s*<dd>evil\.example<\/dd>/);
    expect(consent({ name: 'Claude', source: 'self' })).not.toContain('Published by');
  });

  it('states where the browser returns and what may be done', () => {
    const page = consent({ name: 'Reporting', source: 'configured' });
    expect(page).toContain('<dd>reports.example.com</dd>');
    expect(page).toContain('Read data with SQL queries');
  });
});

describe('sign-in page', () => {
  it('names the application, and the host that publishes a metadata-document client', () => {
    const page = (client: ClientIdentity) => loginPage({ environment: 'production', client, csrf: 'token' });
    expect(page({ name: 'Claude', source: 'document', publisher: 'claude.ai' })).toContain(
      '<strong>Claude</strong> (from <strong>claude.ai</strong>) wants to use'
    );
    expect(page({ name: 'Claude', source: 'self' })).toContain('<strong>Claude</strong> wants to use');
  });
});
