import { writeFileSync } from 'node:fs';
import { renderConfigReference } from '../src/config/reference.ts';

/** Writes docs/configuration.md from the configuration schema. */
const target = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(target, renderConfigReference());
process.stderr.write(`wrote ${target.pathname}\n`);
