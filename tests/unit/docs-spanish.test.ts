import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every English guide in docs/ has a Spanish counterpart in docs/es/ with the same sections, and the Spanish entry
 * page leads to each of them. docs/configuration.md is generated from the schema and stays English only.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const docs = join(root, 'docs');
const spanish = join(docs, 'es');

const ENGLISH_ONLY = new Set(['configuration.md']);

const GUIDES = readdirSync(docs, { withFileTypes: true })
  .filter(entry => entry.isFile() && entry.name.endsWith('.md') && !ENGLISH_ONLY.has(entry.name))
  .map(entry => entry.name)
  .sort();

const FENCE = /^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;

/** Headings outside fenced code, as "level: text". */
function headings(markdown: string): { level: number; text: string }[] {
  return [...markdown.replace(FENCE, '').matchAll(/^(#{1,6})\s+(.+?)\s*#*\s*$/gm)].map(m => ({
    level: (m[1] ?? '').length,
    text: m[2] ?? ''
  }));
}

/**
 * Generated figures (docs/performance.md's `<!-- bench:results:start -->` … `end` section, written by
 * bench/docs-table.ts) are published on the English page only; the Spanish one links to them.
 */
const GENERATED = /<!-- bench:results:start -->[\s\S]*?<!-- bench:results:end -->/g;

function fencedBlocks(markdown: string): number {
  return [...markdown.replace(GENERATED, '').matchAll(FENCE)].length;
}

/** Words of the running text: no code, no inline code, no link targets, no URLs. */
function proseWords(markdown: string): string[] {
  const text = markdown
    .replace(FENCE, ' ')
    .replace(/`[^`\n]*`/g, ' ')
    .replace(/\]\([^)]*\)/g, ']')
    .replace(/https?:\/\/\S+/g, ' ')
    .toLowerCase();
  return text.match(/\p{L}+/gu) ?? [];
}

/** Prose lines long enough to be sentences (tables and headings included), whitespace normalised. */
function proseLines(markdown: string): string[] {
  return markdown
    .replace(FENCE, '')
    .split('\n')
    .map(line => line.replace(/\s+/g, ' ').trim())
    .filter(line => proseWords(line).length >= 6);
}

// Words that make up much of any Spanish text and almost none of an English one.
const SPANISH = new Set([
  'el', 'la', 'los', 'las', 'de', 'del', 'que', 'y', 'en', 'un', 'una', 'por', 'para', 'con', 'se', 'es', 'no',
  'su', 'sus', 'al', 'lo', 'como', 'más', 'o', 'cada', 'si', 'sin', 'son', 'está', 'hay', 'cuando', 'también'
]); // prettier-ignore
const ENGLISH = new Set(['the', 'and', 'of', 'to', 'is', 'with', 'that', 'are', 'it', 'its', 'for', 'when', 'which']);

function share(words: string[], vocabulary: Set<string>): number {
  return words.length === 0 ? 0 : words.filter(word => vocabulary.has(word)).length / words.length;
}

describe('the Spanish documentation', () => {
  it('has guides to compare', () => {
    expect(GUIDES).toContain('security.md');
    expect(GUIDES).not.toContain('configuration.md');
  });

  describe.each(GUIDES)('docs/es/%s', guide => {
    const englishPath = join(docs, guide);
    const spanishPath = join(spanish, guide);

    it('exists', () => {
      expect(existsSync(spanishPath), `docs/es/${guide} is missing`).toBe(true);
    });

    const english = readFileSync(englishPath, 'utf8');
    // A missing translation reads as empty, so that every check below fails with the one above.
    const translated = existsSync(spanishPath) ? readFileSync(spanishPath, 'utf8') : '';

    it('has the same headings, at the same levels, in the same order', () => {
      const levels = (markdown: string) => headings(markdown).map(h => h.level);
      expect(levels(translated)).toEqual(levels(english));
    });

    it('has the same number of code blocks', () => {
      expect(fencedBlocks(translated)).toBe(fencedBlocks(english));
    });

    it('is written in Spanish, not copied from the English', () => {
      const words = proseWords(translated);
      expect(share(words, SPANISH)).toBeGreaterThan(0.25);
      expect(share(words, ENGLISH)).toBeLessThan(0.03);
      const englishLines = new Set(proseLines(english));
      const lines = proseLines(translated);
      const copied = lines.filter(line => englishLines.has(line));
      expect(copied.length / Math.max(lines.length, 1)).toBeLessThan(0.1);
    });
  });

  it('has an entry page that links every Spanish guide and the English-only configuration reference', () => {
    const readme = readFileSync(join(spanish, 'README.md'), 'utf8');
    const targets = new Set(
      [...readme.replace(FENCE, '').matchAll(/\]\(\s*<?([^)\s>#]+)(?:#[^)\s>]*)?>?\s*\)/g)].map(m => m[1])
    );
    const missing = GUIDES.filter(guide => !targets.has(guide));
    expect(missing).toEqual([]);
    expect(targets).toContain('../configuration.md');
    expect(share(proseWords(readme), SPANISH)).toBeGreaterThan(0.25);
  });
});
