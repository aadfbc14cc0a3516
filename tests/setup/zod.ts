import { configureZod } from '../../src/zod-setup.ts';

// Every test file runs zod as the server process does (src/main.ts), set up before the file's
// imports build any schema.
configureZod();
