import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, matchesGlob, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { DEMO_FILE } from '../../src/demo/demo-database.ts';
import { execForm, parseDockerfile, parseEnv, readDockerignore, type Stage } from '../helpers/dockerfile.ts';
import { freeLoopbackPort } from '../helpers/nginx.ts';
import { PROJECT_ROOT } from '../helpers/server-process.ts';

const run = promisify(execFile);

/**
 * The Dockerfile's steps, run on this machine in their order, with no container engine: each stage's filesystem is
 * a directory (the container's `/app` is `<stage>/app`), COPY takes the build context through .dockerignore, RUN
 * runs with the project's Node 24 (the base image's `node:24`), and the ENTRYPOINT starts as the Dockerfile's
 * non-root USER. One liberty: the build stage's full `npm ci` links the project's node_modules, which that command
 * installs from the same package-lock.json, to keep the test near a minute; the runtime stage's
 * `npm ci --omit=dev` runs for real, so a production dependency missing from package.json fails here.
 */

const NODE_BIN = dirname(process.execPath);
const DOCKERFILE = join(PROJECT_ROOT, 'Dockerfile');
const IGNORED = readDockerignore(join(PROJECT_ROOT, '.dockerignore'));

function ignored(path: string): boolean {
  const parts = path.split('/');
  // A pattern excludes a directory with everything in it.
  return parts.some((_, i) => IGNORED.some(pattern => matchesGlob(parts.slice(0, i + 1).join('/'), pattern)));
}

const base = mkdtempSync(join(tmpdir(), 'sqlbridge-image-'));
// The non-root user reaches its files through this directory.
chmodSync(base, 0o755);

/**
 * What RUN sees besides the Dockerfile's ENV: the project's Node first on PATH, this machine's certificate
 * authorities (a build host's trust store), and a home and npm cache of the test's own, seeded from this user's
 * cache, so that a step like `npm cache clean` touches nothing outside the test.
 */
function buildHostEnvironment(): Record<string, string> {
  const home = join(base, 'home');
  if (!existsSync(home)) {
    mkdirSync(home, { recursive: true });
    const userCache = join(process.env['HOME'] ?? '/root', '.npm', '_cacache');
    if (existsSync(userCache)) cpSync(userCache, join(home, '.npm', '_cacache'), { recursive: true });
  }
  const environment: Record<string, string> = { PATH: `${NODE_BIN}:/usr/bin:/bin`, HOME: home };
  for (const name of ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR']) {
    const value = process.env[name];
    if (value !== undefined) environment[name] = value;
  }
  return environment;
}

interface StageState {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: { uid: number; gid: number } | undefined;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(DOCKERFILE);
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  /** The container paths the Dockerfile names, so that RUN and ENV find them under the stage's directory. */
  const containerPaths = new Set<string>();
  for (const { instructions } of stages) {
    for (const { keyword, args } of instructions) {
      if (keyword === 'WORKDIR' || keyword === 'VOLUME') containerPaths.add(args.trim());
      if (keyword === 'ENV')
        for (const value of Object.values(parseEnv(args))) if (value.startsWith('/')) containerPaths.add(value);
    }
  }
  const inStage = (root: string, text: string): string =>
    [...containerPaths].reduce(
      (result, path) => result.replace(new RegExp(`(^|[\\s=:])${path}(?=[/\\s]|$)`, 'g'), `$1${root}${path}`),
      text
    );

  const states = new Map<Stage, StageState>();

  async function runStage(stage: Stage, index: number): Promise<StageState> {
    const root = join(base, stage.name ?? `stage-${index}`);
    mkdirSync(root, { recursive: true, mode: 0o755 });
    const state: StageState = { root, workdir: root, env: {}, user: undefined };
    for (const { keyword, args, line } of stage.instructions) {
      const where = `Dockerfile:${line} ${keyword}`;
      switch (keyword) {
        case 'WORKDIR':
          state.workdir = join(root, args.trim());
          mkdirSync(state.workdir, { recursive: true, mode: 0o755 });
          break;
        case 'ENV':
          for (const [name, value] of Object.entries(parseEnv(args))) state.env[name] = inStage(root, value);
          break;
        case 'COPY': {
          const words = args.split(/\s+/);
          const from = words[0]?.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
          const destination = words.pop()!;
          const target = destination.startsWith('/') ? join(root, destination) : join(state.workdir, destination);
          for (const source of words) {
            if (from === undefined) {
              expect(ignored(source), `${where}: ${source} is excluded by .dockerignore`).toBe(false);
              const to = destination.endsWith('/') ? join(target, source) : target;
              cpSync(join(PROJECT_ROOT, source), to, {
                recursive: true,
                filter: path => !ignored(relative(PROJECT_ROOT, path))
              });
            } else {
              const origin = [...states].find(([s]) => s.name === from)?.[1];
              expect(origin, `${where}: stage ${from} ran before`).toBeDefined();
              cpSync(join(origin!.root, source), target, { recursive: true });
            }
          }
          break;
        }
        case 'RUN': {
          if (/^npm ci(?!.*--omit=dev)/.test(args.trim())) {
            symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(state.workdir, 'node_modules'));
            break;
          }
          await run('sh', ['-c', inStage(root, args)], {
            cwd: state.workdir,
            env: { ...buildHostEnvironment(), ...state.env },
            timeout: 120_000
          });
          break;
        }
        case 'USER': {
          const [uid, gid] = args.trim().split(':').map(Number);
          expect(Number.isInteger(uid) && Number.isInteger(gid), `${where}: numeric uid:gid`).toBe(true);
          state.user = { uid: uid!, gid: gid! };
          break;
        }
        default:
          break;
      }
    }
    states.set(stage, state);
    return state;
  }

  const instruction = (stage: Stage, keyword: string) => stage.instructions.find(i => i.keyword === keyword)?.args;

  it('builds in two stages on node:24-slim and runs the server as a non-root user until SIGTERM', async () => {
    expect(stages.map(stage => stage.image)).toEqual(['node:24-slim', 'node:24-slim']);
    let runtime: StageState | undefined;
    for (const [index, stage] of stages.entries()) runtime = await runStage(stage, index);
    const final = stages.at(-1)!;
    const app = runtime!.workdir;

    // Production dependencies only, and the compiled server.
    expect(existsSync(join(app, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'fastify'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'node'))).toBe(false);
    expect(existsSync(join(app, 'src'))).toBe(false);

    const user = runtime!.user;
    expect(user?.uid).not.toBe(0);
    expect(instruction(final, 'VOLUME')).toBe(runtime!.env['SQLBRIDGE_DATA_DIR']!.slice(runtime!.root.length));
    expect(instruction(final, 'EXPOSE')).toBe('8008');
    expect(instruction(final, 'STOPSIGNAL')).toBe('SIGTERM');
    const entrypoint = execForm(instruction(final, 'ENTRYPOINT')!);
    expect(entrypoint[0]).toBe('node');
    expect(execForm(instruction(final, 'CMD')!)).toEqual(['serve']);
    const healthcheck = execForm(instruction(final, 'HEALTHCHECK')!);

    // `docker run -e SQLBRIDGE_PUBLIC_URL=… -e SQLBRIDGE_PORT=… -v data:/data sqlbridge demo`, with a demo
    // database already in the volume (the test suite's copy; building one takes a while).
    const dataDir = runtime!.env['SQLBRIDGE_DATA_DIR']!;
    copyFileSync(inject('demoTemplate'), join(dataDir, DEMO_FILE));
    // The file is the user's, as the server would have made it; the directory keeps the ownership RUN gave it (a new
    // volume takes the image's).
    await run('chown', [`${user!.uid}:${user!.gid}`, join(dataDir, DEMO_FILE)]);
    const port = await freeLoopbackPort();
    const env = {
      PATH: `${NODE_BIN}:/usr/bin:/bin`,
      ...runtime!.env,
      SQLBRIDGE_PORT: String(port),
      SQLBRIDGE_PUBLIC_URL: 'https://data.example.com'
    };
    const asUser = ['--reuid', String(user!.uid), '--regid', String(user!.gid), '--clear-groups', '--'];
    const server = spawn('setpriv', [...asUser, ...entrypoint, 'demo'], {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let output = '';
    server.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    server.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    try {
      let healthy = false;
      const deadline = Date.now() + 60_000;
      while (!healthy && Date.now() < deadline && server.exitCode === null) {
        const check = spawn('setpriv', [...asUser, ...healthcheck], { cwd: app, env, stdio: 'ignore' });
        const [code] = (await once(check, 'exit')) as [number | null];
        healthy = code === 0;
        if (!healthy) await new Promise(resolve => setTimeout(resolve, 500));
      }
      expect(healthy, output).toBe(true);
      const status = readFileSync(`/proc/${String(server.pid)}/status`, 'utf8');
      expect(status).toMatch(new RegExp(`^Uid:\\s+${user!.uid}\\s`, 'm'));
      expect(existsSync(join(dataDir, 'auth'))).toBe(true);
    } finally {
      server.kill('SIGTERM');
    }
    const [code] = (await once(server, 'exit')) as [number | null];
    expect(code, output).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  }, 180_000);
});
