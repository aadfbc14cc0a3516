import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { safeParseOnce } from '../../src/zod-setup.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { hasCompiledParser } from '../helpers/zod-compiled.ts';

// Tests run zod as the server does (tests/setup/zod.ts): every schema is compiled on its first
// parse, unless it is parsed through safeParseOnce.

const orderSchema = () => {
  const line = z.object({ sku: z.string().min(1), quantity: z.number().int().positive() });
  return { line, order: z.object({ id: z.string(), lines: z.array(line) }) };
};
const ORDER = { id: 'o-1', lines: [{ sku: 'a', quantity: 2 }] };
const BAD_ORDER = { id: 7, lines: [{ sku: '', quantity: 1.5 }, { quantity: 0 }] };

describe('safeParseOnce', () => {
  it('parses on the runtime parser and leaves the schemas it reaches uncompiled, where safeParse compiles them', () => {
    const once = orderSchema();
    const control = orderSchema();

    const parsed = safeParseOnce(once.order, ORDER);
    expect(control.order.safeParse(ORDER)).toEqual(parsed);
    expect(parsed).toEqual({ success: true, data: ORDER });

    expect(hasCompiledParser(control.order)).toBe(true);
    expect(hasCompiledParser(once.order)).toBe(false);
    expect(hasCompiledParser(once.line)).toBe(false);
    // They stay on the runtime parser for later parses too.
    expect(once.order.safeParse(ORDER).success).toBe(true);
    expect(hasCompiledParser(once.order)).toBe(false);
  });

  it('reports the same issues as safeParse', () => {
    const once = safeParseOnce(orderSchema().order, BAD_ORDER);
    const control = orderSchema().order.safeParse(BAD_ORDER);
    expect(once.success).toBe(false);
    expect(once.error?.issues).toEqual(control.error?.issues);
    expect(once.error?.issues.length).toBeGreaterThanOrEqual(4);
  });

  it('restores zod’s setting afterwards, also when the parse throws', () => {
    expect(z.config().jitless).toBeFalsy();
    const throwing = z.string().refine(() => {
      throw new Error('refinement failed');
    });
    expect(() => safeParseOnce(throwing, 'x')).toThrow('refinement failed');
    expect(z.config().jitless).toBeFalsy();
    const after = orderSchema().order;
    after.safeParse(ORDER);
    expect(hasCompiledParser(after)).toBe(true);
  });
});

describe('the configuration', () => {
  it('is parsed without compiling its schema', () => {
    const { config } = loadConfig({
      cli: { dataDir: emptyDir('parse-once-') },
      env: {},
      cwd: emptyDir('parse-once-'),
      demo: true
    });
    expect(Object.keys(config.environments)).toEqual(['demo']);
    expect(hasCompiledParser(configSchema)).toBe(false);
  });
});
