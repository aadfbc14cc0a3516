#!/usr/bin/env node
import { processIo } from './cli/io.ts';
import { run } from './cli/run.ts';

const code = await run(process.argv.slice(2), { env: process.env, cwd: process.cwd(), io: processIo });
process.exit(code);
