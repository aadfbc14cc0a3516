import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Every relative link of the documentation, and every #anchor, leads somewhere. */

const root = fileURLToPath(new URL('../..', import.meta.url));

function markdownFiles(dir: string, only?: (name: string) => boolean): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter(name => name.endsWith('.md') && (only === undefined || only(name)))
    .map(name => join(dir, name));
}

const FILES = [
  'README.md',
  ...markdownFiles('docs'),
  ...markdownFiles('deploy', name => name === 'README.md' || name.endsWith('/README.md'))
];

/** Text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

function links(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(m => m[1] ?? '');
  const references = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map(m => m[1] ?? '');
  return [...inline, ...references];
}

/** The anchors GitHub gives a file's headings (lower case, punctuation dropped, spaces as hyphens). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const heading = (match[1] ?? '').replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) result.add(match[1] ?? '');
  return result;
}

describe('the architecture diagram', () => {
  const svg = readFileSync(join(root, 'docs', 'architecture.svg'), 'utf8');

  it('is an SVG document with a title and every step of one query, numbered', () => {
    expect(svg).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title id="title">');
    const steps = [...svg.matchAll(/<text class="step"[^>]*>(\d+)<\/text>/g)].map(m => Number(m[1]));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const legend = [...svg.matchAll(/<text class="legend" x="20"[^>]*>(\d+) /g)].map(m => Number(m[1]));
    expect(legend).toEqual(steps);
  });
});

describe('documentation links', () => {
  it('finds the documentation', () => {
    expect(FILES).toContain('README.md');
    expect(FILES).toContain(join('docs', 'configuration.md'));
    expect(FILES).toContain(join('deploy', 'nginx', 'README.md'));
  });

  it.each(FILES)('%s: every relative link and anchor resolves', file => {
    const markdown = readFileSync(join(root, file), 'utf8');
    const broken: string[] = [];
    for (const link of links(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto: … are not checked here
      const [path = '', anchor] = link.split('#', 2);
      const target = path === '' ? join(root, file) : resolve(dirname(join(root, file)), decodeURI(path));
      if (!target.startsWith(root) || !existsSync(target)) {
        broken.push(`${link} (no ${relative(root, target)})`);
        continue;
      }
      if (anchor !== undefined && anchor !== '' && statSync(target).isFile() && target.endsWith('.md')) {
        if (!anchors(readFileSync(target, 'utf8')).has(decodeURIComponent(anchor).toLowerCase()))
          broken.push(`${link} (no heading #${anchor} in ${relative(root, target)})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
