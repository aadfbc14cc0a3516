#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// V8's compiled code (and the TypeScript sources with their types stripped) is kept on disk, so
// the next start of this process, and of the SQLite worker processes it forks, skips that work.
// The cache lives in the user's own home (NODE_COMPILE_CACHE overrides it), never in a shared
// temporary directory another account could write to. Where it cannot be written, Node runs on
// without it.
const cache = enableCompileCache(
  process.env['NODE_COMPILE_CACHE'] ?? join(homedir(), '.cache', 'sqlbridge', 'compile')
);
if (cache.directory !== undefined) process.env['NODE_COMPILE_CACHE'] ??= cache.directory;

// Before any schema is built (see zod-setup.ts).
const { configureZod } = await import('./zod-setup.ts');
configureZod();

const { processIo } = await import('./cli/io.ts');
const { run } = await import('./cli/run.ts');
const code = await run(process.argv.slice(2), { env: process.env, cwd: process.cwd(), io: processIo });
process.exit(code);
