import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  bearerAuthChallengeResponse,
  OAuthError,
  OAuthErrorCode,
  verifyBearerToken,
  type AuthInfo
} from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { Config } from '../config/schema.ts';
import type { Environment } from '../environment.ts';
import { applySecurityHeaders } from '../http/security-headers.ts';
import type { HttpApp } from '../http/server.ts';
import type { Logger } from '../observability/logger.ts';
import { AccessTokenVerifier } from './resource/token-verifier.ts';
import { showInteraction, submitConsent, submitLogin, type InteractionContext } from './server/interactions.ts';
import { loadOrCreateKeys, publicKeys, type EnvironmentKeys } from './server/keys.ts';
import { createAuthorizationServer, resourceScopes } from './server/provider.ts';
import { RateLimit } from './server/rate-limit.ts';
import { LoginThrottle } from './server/throttle.ts';
import { UserDirectory, type User } from './server/users.ts';
import { MemoryStore } from './storage/memory-store.ts';
import { SqliteStore } from './storage/sqlite-store.ts';
import type { AuthStore } from './storage/store.ts';
import { join } from 'node:path';

/**
 * OAuth for every environment: an authorization server (issuer `<base>/<env>`) and the resource
 * server in front of `<base>/<env>/mcp`. Routes are registered before the HTTP server listens; the
 * issuers need the final base URL, so the servers themselves are built by `start()` once it is known
 * (a port of 0 is only known after listening).
 */

export interface AuthServiceOptions {
  config: Config;
  environments: readonly Environment[];
  logger: Logger;
  /** Users beyond the configured ones (the demo login). */
  extraUsers?: readonly User[];
}

interface EnvironmentAuth {
  environment: Environment;
  keys: EnvironmentKeys;
  provider?: Provider;
  callback?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  verifier?: AccessTokenVerifier;
  issuer?: string;
  resource?: string;
}

const FORM_LIMIT = 8 * 1024;

export class AuthService {
  readonly store: AuthStore;
  readonly users: UserDirectory;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly byName = new Map<string, EnvironmentAuth>();
  private readonly throttle: LoginThrottle;
  private readonly registrations: RateLimit;
  private base: URL | undefined;

  private constructor(options: AuthServiceOptions, store: AuthStore, keys: Map<string, EnvironmentKeys>) {
    this.config = options.config;
    this.logger = options.logger;
    this.store = store;
    this.users = UserDirectory.fromConfig(options.config, options.extraUsers ?? []);
    const login = options.config.auth.login;
    this.throttle = new LoginThrottle({
      perUser: login.maxFailuresPerUser,
      perAddress: login.maxFailuresPerAddress,
      windowMs: login.windowMinutes * 60_000
    });
    this.registrations = new RateLimit(options.config.auth.maxRegistrationsPerHour, 3_600_000);
    for (const environment of options.environments) {
      const environmentKeys = keys.get(environment.name);
      if (environmentKeys !== undefined) this.byName.set(environment.name, { environment, keys: environmentKeys });
    }
  }

  static async create(options: AuthServiceOptions): Promise<AuthService> {
    const { config, logger } = options;
    const store: AuthStore =
      config.auth.storage === 'memory'
        ? new MemoryStore()
        : new SqliteStore(join(config.dataDir, 'auth', 'auth.sqlite'));
    if (!store.persistent) {
      logger.warn(
        'auth.storage is "memory": registered clients, grants and refresh tokens are lost on restart, and replicas do not share them. Use it for tests only.'
      );
    }
    const keys = new Map<string, EnvironmentKeys>();
    for (const environment of options.environments) {
      keys.set(environment.name, await loadOrCreateKeys(config.dataDir, environment.name));
    }
    return new AuthService(options, store, keys);
  }

  /** Builds each environment's authorization server and token verifier for the base URL clients use. */
  start(baseUrl: string): void {
    this.base = new URL(baseUrl);
    const secure = this.base.protocol === 'https:';
    for (const [name, entry] of this.byName) {
      const issuer = `${this.base.origin}/${name}`;
      const resource = `${issuer}/mcp`;
      const provider = createAuthorizationServer({
        environment: name,
        issuer,
        resource,
        readOnly: entry.environment.config.readOnly,
        auth: this.config.auth,
        signingKeys: entry.keys.signing,
        cookieKeys: entry.keys.cookies,
        secure,
        store: this.store,
        users: this.users,
        logger: this.logger
      });
      // Behind TLS-terminating proxies: the scheme comes from X-Forwarded-Proto, which forward() sets itself.
      provider.proxy = secure;
      entry.provider = provider;
      entry.callback = provider.callback();
      entry.issuer = issuer;
      entry.resource = resource;
      entry.verifier = new AccessTokenVerifier({
        environment: name,
        issuer,
        resource,
        keys: publicKeys(entry.keys.signing),
        store: this.store,
        users: this.users,
        grantCheckMs: this.config.auth.grantCheckMs
      });
    }
  }

  /** The URL of an environment's protected-resource metadata (RFC 9728). */
  resourceMetadataUrl(environment: string): string {
    return `${this.origin()}/.well-known/oauth-protected-resource/${environment}/mcp`;
  }

  /**
   * The resource server's decision on a request to `/<environment>/mcp`: the caller's identity, or
   * the response to send (401 with a `WWW-Authenticate` challenge naming the resource metadata and
   * the scope, 400 for a token in the query string).
   */
  async authenticate(environment: string, request: FastifyRequest): Promise<AuthInfo | Response> {
    const entry = this.byName.get(environment);
    if (entry?.verifier === undefined || entry.resource === undefined) {
      return Response.json({ error: 'temporarily_unavailable' }, { status: 503 });
    }
    const query = new URL(request.url, 'http://localhost').searchParams;
    if (query.has('access_token')) {
      return Response.json(
        { error: 'invalid_request', error_description: 'access tokens are accepted only in the Authorization header' },
        { status: 400 }
      );
    }
    const options = {
      verifier: entry.verifier,
      requiredScopes: ['sql:read'],
      resourceMetadataUrl: this.resourceMetadataUrl(environment),
      expectedResource: new URL(entry.resource)
    };
    try {
      return await verifyBearerToken(request.headers.authorization, options);
    } catch (error) {
      const known =
        error instanceof OAuthError
          ? error
          : new OAuthError(OAuthErrorCode.InvalidToken, 'The access token could not be verified');
      return bearerAuthChallengeResponse(known, options);
    }
  }

  /** Registers the authorization servers' routes, the sign-in pages and the metadata documents. */
  mount(app: HttpApp): void {
    for (const name of this.byName.keys()) {
      this.mountEnvironment(app, name);
    }
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private origin(): string {
    if (this.base === undefined) throw new Error('the authorization servers have not started');
    return this.base.origin;
  }

  private mountEnvironment(app: HttpApp, name: string): void {
    const entry = this.byName.get(name);
    if (entry === undefined) return;
    const provider = (): Provider => {
      if (entry.provider === undefined) throw new Error('the authorization server has not started');
      return entry.provider;
    };
    const forward =
      (strip: number, inner?: string) =>
      async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        reply.hijack();
        const res = reply.raw;
        applySecurityHeaders(res);
        if (entry.callback === undefined || this.base === undefined) {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
          return;
        }
        const req = request.raw as IncomingMessage & { baseUrl?: string; originalUrl?: string };
        const original = req.url ?? '/';
        const path = original.split('?')[0] ?? '/';
        // Registration has no CORS of its own in oidc-provider; browser-based clients (the MCP Inspector) need it.
        if (inner === undefined && path === `/${name}/register`) {
          res.setHeader('access-control-allow-origin', '*');
          const wait = request.method === 'POST' ? this.registrations.take(request.ip) : 0;
          if (wait > 0) {
            this.logger.warn({ environment: name, address: request.ip }, 'client registration rate-limited');
            res
              .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Math.ceil(wait / 1000)) })
              .end(
                JSON.stringify({
                  error: 'temporarily_unavailable',
                  error_description: 'too many client registrations from this address; try again later'
                })
              );
            return;
          }
          if (request.method === 'OPTIONS') {
            res
              .writeHead(204, {
                'access-control-allow-methods': 'POST',
                'access-control-allow-headers': 'content-type, authorization',
                'access-control-max-age': '600'
              })
              .end();
            return;
          }
        }
        // Endpoint URLs in metadata come from the Host header: pin it to the public URL.
        req.headers.host = this.base.host;
        delete req.headers['x-forwarded-host'];
        if (this.base.protocol === 'https:') req.headers['x-forwarded-proto'] = 'https';
        req.baseUrl = `/${name}`;
        req.url = inner ?? withDefaultScope(original.slice(strip) || '/');
        try {
          await entry.callback(req, res);
        } finally {
          req.url = original;
          delete req.baseUrl;
        }
      };
    const noop = async (): Promise<void> => undefined;
    const methods: ('GET' | 'POST' | 'OPTIONS' | 'DELETE' | 'PUT')[] = ['GET', 'POST', 'OPTIONS', 'DELETE', 'PUT'];
    // RFC 8414 metadata at the path-inserted locations MCP clients try first, and oidc-provider's own routes.
    for (const wellKnown of ['oauth-authorization-server', 'openid-configuration']) {
      app.route({
        method: ['GET', 'OPTIONS'],
        url: `/.well-known/${wellKnown}/${name}`,
        onRequest: forward(0, `/.well-known/${wellKnown}`),
        handler: noop
      });
    }
    app.route({ method: methods, url: `/${name}/*`, onRequest: forward(name.length + 1), handler: noop });

    // RFC 9728 protected-resource metadata, at the path-inserted location and the original guide's.
    const resourceMetadata = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('access-control-allow-origin', '*');
      if (request.method === 'OPTIONS') {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET')
          .header('access-control-max-age', '600')
          .send();
      }
      if (entry.resource === undefined || entry.issuer === undefined)
        return reply.code(503).send({ error: 'temporarily_unavailable' });
      return reply.header('cache-control', 'public, max-age=300').send({
        resource: entry.resource,
        authorization_servers: [entry.issuer],
        scopes_supported: resourceScopes(entry.environment.config.readOnly),
        bearer_methods_supported: ['header'],
        resource_name: `sqlbridge — ${name}`
      });
    };
    app.route({
      method: ['GET', 'OPTIONS'],
      url: `/.well-known/oauth-protected-resource/${name}/mcp`,
      handler: resourceMetadata
    });
    app.route({
      method: ['GET', 'OPTIONS'],
      url: `/${name}/.well-known/oauth-protected-resource`,
      handler: resourceMetadata
    });

    // Sign-in and consent.
    const context: InteractionContext = {
      environment: name,
      provider,
      resource: () => entry.resource ?? '',
      users: this.users,
      throttle: this.throttle,
      store: this.store,
      csrfSecret: entry.keys.cookies[0] ?? '',
      scopes: ['offline_access', ...resourceScopes(entry.environment.config.readOnly)],
      consentTtlSeconds: Math.max(this.config.auth.refreshTokenTtlDays, 30) * 86_400,
      logger: this.logger
    };
    void app.register(async scope => {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: FORM_LIMIT },
        (_request, body, done) => {
          done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
        }
      );
      const guard =
        (handler: (c: InteractionContext, q: FastifyRequest, r: FastifyReply) => Promise<unknown>) =>
        async (request: FastifyRequest, reply: FastifyReply) => {
          if (entry.provider === undefined) return reply.code(503).send({ error: 'temporarily_unavailable' });
          return handler(context, request, reply);
        };
      scope.get(`/${name}/interaction/:uid`, guard(showInteraction));
      scope.post(`/${name}/interaction/:uid/login`, guard(submitLogin));
      scope.post(`/${name}/interaction/:uid/confirm`, guard(submitConsent));
    });
  }
}

/**
 * An authorization request without `scope` gets the default, reading (RFC 6749 3.3 lets the server
 * pick one); oidc-provider would otherwise grant nothing and deny the request.
 */
function withDefaultScope(url: string): string {
  const [path = '/', query = ''] = url.split(/\?(.*)/s, 2);
  if (path !== '/authorize') return url;
  const params = new URLSearchParams(query);
  if (params.has('scope')) return url;
  params.set('scope', 'sql:read');
  return `${path}?${params.toString()}`;
}
