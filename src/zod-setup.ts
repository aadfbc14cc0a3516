// zod's own opt-in: every schema built after this import is compiled to a parser of its own on its
// first parse (invalid input still goes through the regular parser, so errors read the same).
import 'zod/compile';
import { z } from 'zod';

/**
 * zod as sqlbridge uses it: schemas compiled ahead of their parses (above), and parsing trees,
 * without the cycle support zod 4.6 adds by default.
 *
 * With it, every parse through a recursive schema (a JSON value, as the MCP SDK's requests,
 * results and `_meta` hold) keeps a memo of each object and array it has parsed, so that an input
 * that contains itself can be parsed. It costs about 5% of the main thread's instructions in a
 * primary-key lookup, and a seventh to a quarter of what such a call moves to V8's old generation
 * (see "Where the time goes" in docs/performance.md). Nothing sqlbridge parses can contain itself:
 * JSON from the wire or from its stores, the results it builds, and its configuration, whose YAML
 * aliases are copied and refused where they would contain themselves (config/sources.ts).
 *
 * zod reads the setting when a schema is built, so it is made before anything else is imported
 * (main.ts), the MCP SDK's schemas included, several of which are built as its modules load.
 */
const TREES_ONLY: z.core.$ZodMemoizer = {
  attach: () => undefined,
  guard: () => undefined,
  alloc: (_schema, _payload, empty) => empty
};

export function configureZod(): void {
  z.config({ memoizer: TREES_ONLY });
}

/**
 * `schema.safeParse(input)` for what is parsed once, the configuration above all, on zod's plain
 * runtime parser: no compiled parser is built for the schemas it reaches (zod's compile step reads
 * `jitless` on a schema's first parse and then keeps it on the runtime parser), and no generated
 * fast path for its objects (`jitless` in the parse's context). The configuration's schema is the
 * largest sqlbridge has: compiled, it held about 7 MiB of an idle server's resident set and added
 * about 40 ms to a cold start, for a parse that runs once (see docs/performance.md). The result and
 * its error messages are the same either way. The parse is synchronous, so nothing else is parsed
 * while the setting is changed.
 */
export function safeParseOnce<S extends z.ZodType>(schema: S, input: unknown): z.ZodSafeParseResult<z.output<S>> {
  const { jitless } = z.config();
  z.config({ jitless: true });
  try {
    return schema.safeParse(input, { jitless: true });
  } finally {
    z.config({ jitless });
  }
}
