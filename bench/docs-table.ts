import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { isBusy } from './machine.ts';
import type { SystemName } from './options.ts';
import {
  instructionsLine,
  runSpread,
  sdkFloorLine,
  soakLine,
  streamsRss,
  type Figure,
  type Results
} from './report.ts';
import { PROJECT_ROOT } from './build.ts';
import { checkTargets } from './targets.ts';

/**
 * The figures section of docs/performance.md, built from a results file (the newest in
 * bench/results/ unless one is named): `node bench/docs-table.ts [file] [--write]`. Without
 * `--write` the section is printed; with it, the text between the two markers is replaced.
 */

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';
const DOC = join(PROJECT_ROOT, 'docs', 'performance.md');
const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');
const COLUMNS: [SystemName, string][] = [
  ['dbhub', 'DBHub'],
  ['sqlbridge', 'sqlbridge'],
  ['sqlbridge-oauth', 'sqlbridge, OAuth on'],
  ['raw', 'raw driver'],
  ['raw-read-only', 'raw driver, read-only transaction']
];

const thousands = (value: number): string => Math.round(value).toLocaleString('en-US');

function cell(figure: Figure | undefined, byLatency: boolean, dbhub: Figure | undefined): string {
  if (figure === undefined) return '—';
  const value = byLatency ? `${figure.p50Ms.toFixed(2)} ms` : thousands(figure.callsPerSecond);
  const versus =
    figure.system.startsWith('sqlbridge') && dbhub !== undefined && !byLatency && dbhub.callsPerSecond > 0
      ? ` (${(figure.callsPerSecond / dbhub.callsPerSecond).toFixed(2)}×)`
      : '';
  return `${value}${versus}${figure.errors > 0 ? ` ⚠ ${figure.errors} errors` : ''}`;
}

/** The servers' own CPU time per call, where it was read (the raw drivers have no server process). */
function cpuTable(results: Results, workloads: [string, string][]): string[] {
  const servers = COLUMNS.filter(([system]) =>
    results.figures.some(f => f.system === system && f.serverCpuMsPerCall !== undefined)
  );
  if (servers.length === 0) return [];
  const lines = [
    '',
    `| server CPU per call (ms, worker processes included) | ${servers.map(([, title]) => title).join(' | ')} |`,
    `|---|${servers.map(() => '---').join('|')}|`
  ];
  for (const [workload, title] of workloads) {
    const values = servers.map(([system]) => {
      const figure = results.figures.find(f => f.workload === workload && f.system === system);
      return figure?.serverCpuMsPerCall === undefined ? '—' : figure.serverCpuMsPerCall.toFixed(2);
    });
    lines.push(`| ${title} | ${values.join(' | ')} |`);
  }
  return lines;
}

/**
 * The Node options sqlbridge ran with, when the run recorded any (runs before the image set them did not), and the
 * options node itself was given before sqlbridge's script (`--node-flags`), when it was given any.
 */
function nodeOptions(results: Results): string {
  const options = results.sqlbridgeEnv?.['NODE_OPTIONS'];
  const flags = results.options.nodeFlags ?? [];
  const parts = [
    ...(options === undefined || options === '' ? [] : [`with \`NODE_OPTIONS=${options}\`, as its image sets it`]),
    ...(flags.length === 0 ? [] : [`started as \`node ${flags.join(' ')}\``])
  ];
  return parts.length === 0 ? '' : ` (sqlbridge ${parts.join(', ')})`;
}

export function resultsSection(results: Results): string {
  const workloads = [...new Map(results.figures.map(f => [f.workload, f.title])).entries()];
  const find = (workload: string, system: SystemName): Figure | undefined =>
    results.figures.find(f => f.workload === workload && f.system === system);
  const seconds = results.options.durationMs / 1000;
  const primed = results.options.primeCalls ?? 0;
  const start =
    primed > 0
      ? `each server primed with ${thousands(primed)} calls once started`
      : 'each server measured from its start, unprimed';
  const label = `${results.quick ? 'a quick smoke run' : 'a full run'} (${seconds}-second runs, ${start})`;
  const { machine } = results;
  const after = results.machineAfter;
  // Judged as run.ts judges it now: files written before it did stored `busy` by the load average.
  const busyAfter = after !== undefined && isBusy(after, true);
  const busy =
    machine.busy || busyAfter
      ? ` **The machine was busy** (load average ${machine.loadAverage.toFixed(2)} and ${machine.idlePercent}% of the CPU idle at the start${after === undefined ? '' : `, ${after.idlePercent}% idle at the end`}, on ${machine.cores} cores): these figures are low and noisy; they show that the bench works, not how fast sqlbridge is.`
      : '';
  const lines = [
    `Latest results: ${label} of ${results.date.slice(0, 10)}, commit \`${results.commit}\`${results.dirty ? ' with uncommitted changes to src/' : ''}, ` +
      `${results.machine.cores} cores (${results.machine.cpuModel}), Node ${results.machine.node}${nodeOptions(results)}, DBHub ${results.dbhubVersion ?? 'not run'}, ` +
      `median of ${results.options.runs} alternating run(s) per figure.${busy}`,
    '',
    `| workload (calls/s; C=1 rows: p50) | ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---').join('|')}|`
  ];
  for (const [workload, title] of workloads) {
    const byLatency = workload.endsWith('-c1');
    const dbhub = find(workload, 'dbhub');
    lines.push(
      `| ${title} | ${COLUMNS.map(([system]) => cell(find(workload, system), byLatency, dbhub)).join(' | ')} |`
    );
  }
  const spread = runSpread(results.measurements);
  if (spread !== undefined) {
    lines.push(
      '',
      `Runs of the same server and workload differed by ${spread.medianPercent.toFixed(0)}% in calls per second at the median and by up to ${spread.maxPercent.toFixed(0)}% (highest run over lowest): ratios closer to 1 than that are within this run's noise.`
    );
  }
  lines.push(...cpuTable(results, workloads));
  const peaks = COLUMNS.flatMap(([system, title]) => {
    const peak = results.serverPeakRssMb[system];
    return peak === undefined ? [] : [`${title} ${peak} MiB`];
  });
  lines.push('', `Peak server RSS over the whole run (VmHWM): ${peaks.join(', ') || 'not measured'}.`);
  if (results.streams !== undefined) {
    const s = results.streams;
    lines.push(
      `Idle legacy SSE streams: ${s.opened.toLocaleString('en-US')} of ${s.requested.toLocaleString('en-US')} opened, server RSS ${streamsRss(s)}, ${s.kbPerStream.toFixed(1)} KiB per stream.`
    );
  }
  if (results.streamsFastifyAlone !== undefined) {
    const s = results.streamsFastifyAlone;
    lines.push(
      `The same streams on Fastify alone (a server of a few lines answering with the headers and body sqlbridge sends, nothing else): ${s.opened.toLocaleString('en-US')} opened, RSS ${streamsRss(s)}, ${s.kbPerStream.toFixed(1)} KiB per stream.`
    );
  }
  if (results.coldStartMs !== undefined) {
    lines.push(
      `Cold start of the demo to the first tools/list: ${thousands(results.coldStartMs.median)} ms (median of ${results.coldStartMs.runs.length}).`
    );
  }
  if (results.soak !== undefined) lines.push(soakLine(results.soak));
  if (results.sdkFloor !== undefined) lines.push(sdkFloorLine(results.sdkFloor));
  if (results.instructions !== undefined) lines.push(instructionsLine(results.instructions));
  lines.push('', '| target | measured | met |', '|---|---|---|');
  for (const check of checkTargets(results)) {
    lines.push(`| ${check.target} | ${check.measured} | ${check.met === undefined ? '—' : check.met ? 'yes' : 'no'} |`);
  }
  const pk = COLUMNS.filter(([system]) => system !== 'raw' && system !== 'raw-read-only').flatMap(([system, title]) => {
    const figure = find('pk-pg-c16', system);
    return figure === undefined ? [] : [{ title, value: Math.round(figure.callsPerSecond) }];
  });
  if (pk.length > 0) {
    lines.push(
      '',
      '```mermaid',
      'xychart-beta',
      '  title "Primary-key lookup, PostgreSQL, C=16 (calls/s)"',
      `  x-axis [${pk.map(p => JSON.stringify(p.title)).join(', ')}]`,
      `  y-axis "calls/s" 0 --> ${Math.max(...pk.map(p => p.value)) * 1.2 > 0 ? Math.ceil((Math.max(...pk.map(p => p.value)) * 1.2) / 100) * 100 : 100}`,
      `  bar [${pk.map(p => p.value).join(', ')}]`,
      '```'
    );
  }
  return lines.join('\n');
}

function newestResults(): string {
  const files = readdirSync(RESULTS_DIR)
    .filter(name => name.endsWith('.json'))
    .map(name => join(RESULTS_DIR, name));
  if (files.length === 0) throw new Error(`no results in ${RESULTS_DIR}: run npm run bench first`);
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const file = args.find(arg => !arg.startsWith('--')) ?? newestResults();
  const section = resultsSection(JSON.parse(readFileSync(file, 'utf8')) as Results);
  if (!args.includes('--write')) {
    process.stdout.write(`${section}\n`);
  } else {
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    if (start === -1 || end < start) throw new Error(`${DOC} lacks the markers ${START} … ${END}`);
    const updated = `${doc.slice(0, start + START.length)}\n\n${section}\n\n${doc.slice(end)}`;
    writeFileSync(DOC, await format(updated, { ...(await resolveConfig(DOC)), filepath: DOC }));
    process.stderr.write(`updated ${DOC} from ${file}\n`);
  }
}
