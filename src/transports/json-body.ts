import type { HttpApp } from '../http/http-app.ts';

/**
 * How the MCP endpoints read bodies: JSON only (anything else is 415), parsed by Fastify within the
 * body limit, with Fastify's prototype-poisoning protection. A GET or DELETE that declares JSON but
 * carries nothing (some clients send the header on every request) has no body rather than a broken
 * one; an empty POST is still a parse error.
 */
export function readJsonBodies(scope: HttpApp): void {
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0 && request.method !== 'POST') {
      done(null, undefined);
      return;
    }
    // Fastify's own JSON parser, in its callback form: it answers through `done`.
    void parseJson(request, typeof body === 'string' ? body : body.toString('utf8'), done);
  });
}
