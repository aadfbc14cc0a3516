import type { HttpApp } from '../http/http-app.ts';

/**
 * How the MCP endpoints read bodies: JSON only (anything else is 415), parsed by Fastify within the
 * body limit, with Fastify's prototype-poisoning protection. A GET or DELETE that declares JSON but
 * carries nothing (some clients send the header on every request) has no body rather than a broken
 * one; an empty POST is still a parse error. A message nested deeper than MAX_JSON_DEPTH is refused:
 * the MCP SDK's Node adapter serializes the body again, recursively, and a few thousand levels (well
 * within the body limit) overflow the stack there.
 */

/** Levels of arrays and objects a message may nest; MCP messages and tool arguments need a handful. */
export const MAX_JSON_DEPTH = 64;

/** The refusal of such a message: 400, answered as a JSON-RPC invalid request (error-handler.ts). */
function tooDeep(): Error {
  const error = new Error(
    `Invalid Request: the message nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`
  );
  return Object.assign(error, { code: 'SQLBRIDGE_JSON_TOO_DEEP', statusCode: 400 });
}

export function readJsonBodies(scope: HttpApp): void {
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0 && request.method !== 'POST') {
      done(null, undefined);
      return;
    }
    // Fastify's own JSON parser, in its callback form: it answers through `done`.
    void parseJson(request, typeof body === 'string' ? body : body.toString('utf8'), (error, parsed) => {
      if (error === null && deeperThan(parsed, MAX_JSON_DEPTH)) done(tooDeep(), undefined);
      else done(error, parsed);
    });
  });
}

/** Whether `value` nests arrays and objects more than `levels` deep; it looks no deeper than that. */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) return value.some(child => deeperThan(child, levels - 1));
  // A parsed body's objects are plain: for…in sees their own keys, and allocates nothing.
  for (const key in value) {
    if (deeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  }
  return false;
}
