/**
 * The tiny template language of the nginx templates.
 *
 * - `{{name}}` is replaced by the value `name`; a name with no value is an error, so a typo cannot render silently.
 * - `{{#name}}` and `{{/name}}`, each alone on its line, enclose a section: kept once when `name` is true, dropped
 *   when it is false, repeated for each item when it is a list. Inside a repeated section the item's values are
 *   visible too (`{{environment}}` inside `{{#environments}}`). Sections nest; the tag lines are not output.
 */

export type TemplateItem = Readonly<Record<string, string>>;
export type TemplateValue = string | boolean | readonly TemplateItem[];
export type TemplateValues = Readonly<Record<string, TemplateValue>>;

const SECTION_OPEN = /^[ \t]*\{\{#([A-Za-z]+)\}\}[ \t]*\n/m;
const PLACEHOLDER = /\{\{([A-Za-z]+)\}\}/g;

export function fillTemplate(template: string, values: TemplateValues): string {
  const open = SECTION_OPEN.exec(template);
  if (open === null) return fillPlaceholders(template, values);
  const name = open[1]!;
  const bodyStart = open.index + open[0].length;
  const close = new RegExp(`^[ \\t]*\\{\\{/${name}\\}\\}[ \\t]*(?:\\n|$)`, 'm').exec(template.slice(bodyStart));
  if (close === null) throw new Error(`template: section {{#${name}}} is never closed`);
  const body = template.slice(bodyStart, bodyStart + close.index);
  const rest = template.slice(bodyStart + close.index + close[0].length);
  return (
    fillPlaceholders(template.slice(0, open.index), values) +
    renderSection(name, body, values) +
    fillTemplate(rest, values)
  );
}

function renderSection(name: string, body: string, values: TemplateValues): string {
  const value = values[name];
  if (value === undefined) throw new Error(`template: no value for section {{#${name}}}`);
  if (typeof value === 'string') throw new Error(`template: section {{#${name}}} needs a boolean or a list`);
  if (typeof value === 'boolean') return value ? fillTemplate(body, values) : '';
  return value.map(item => fillTemplate(body, { ...values, ...item })).join('');
}

function fillPlaceholders(text: string, values: TemplateValues): string {
  const stray = /\{\{[^}]*\}\}/.exec(text.replace(PLACEHOLDER, ''));
  if (stray !== null) throw new Error(`template: misplaced tag ${stray[0]}`);
  return text.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (typeof value !== 'string') throw new Error(`template: no text value for {{${name}}}`);
    return value;
  });
}
