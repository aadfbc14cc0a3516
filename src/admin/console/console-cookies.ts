import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console's two cookies: the session (`sqlbridge-admin`) and, before sign-in, the value the
 * sign-in form's CSRF token is bound to (`sqlbridge-admin-login`). Both HttpOnly and
 * SameSite=Strict (no other site can make a browser send them); over https `__Host-` prefixed,
 * which the browser accepts only Secure, host-only and on path `/`; over plain http (loopback
 * development) scoped to `/admin`.
 */

export type ConsoleCookie = 'session' | 'login';

export class ConsoleCookies {
  private readonly secure: boolean;

  constructor(secure: boolean) {
    this.secure = secure;
  }

  name(cookie: ConsoleCookie): string {
    const base = cookie === 'session' ? 'sqlbridge-admin' : 'sqlbridge-admin-login';
    return this.secure ? `__Host-${base}` : base;
  }

  read(request: FastifyRequest, cookie: ConsoleCookie): string | undefined {
    const wanted = this.name(cookie);
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const index = part.indexOf('=');
      if (index > 0 && part.slice(0, index).trim() === wanted) return part.slice(index + 1).trim();
    }
    return undefined;
  }

  set(reply: FastifyReply, cookie: ConsoleCookie, value: string, maxAgeSeconds: number): void {
    reply.header('set-cookie', [
      ...this.pending(reply),
      `${this.name(cookie)}=${value}; ${this.attributes(maxAgeSeconds)}`
    ]);
  }

  clear(reply: FastifyReply, cookie: ConsoleCookie): void {
    reply.header('set-cookie', [...this.pending(reply), `${this.name(cookie)}=; ${this.attributes(0)}`]);
  }

  /** A fresh value for the sign-in form's binding cookie. */
  static nonce(): string {
    return randomBytes(32).toString('base64url');
  }

  private attributes(maxAgeSeconds: number): string {
    const scope = this.secure ? 'Path=/; Secure' : 'Path=/admin';
    return `${scope}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
  }

  private pending(reply: FastifyReply): string[] {
    const current = reply.getHeader('set-cookie');
    if (current === undefined) return [];
    return Array.isArray(current) ? current : [String(current)];
  }
}
