#!/usr/bin/env node
// Packs every workspace package with `pnpm pack`, installs each tarball into its own empty folder
// outside the workspace with plain npm, and imports it with plain node: proof that a user who
// installs one package alone gets working built code (no tsx, no workspace links, no src/).
// Then, in the CLI's folder (which holds every package): the installed size against a limit, and
// a TypeScript consumer compiled against the installed declarations with skipLibCheck off.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Issue "One backbone for the engine": the CLI installed from its packed tarballs takes at most
// 200 MB (452 MB before, 286 MB of it TensorFlow.js). MB here is 10^6 bytes, as `du -sb` counts.
const MAX_INSTALLED_BYTES = 200e6;
/** The package whose install folder holds every package: the size and the consumer are checked there. */
const CLI_PACKAGE = '@crypto-anomaly/cli-tui';

const root = resolve(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');
const work = mkdtempSync(join(tmpdir(), 'crypto-anomaly-pack-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);

const packages = readdirSync(packagesDir).map((folder) => {
  const manifest = JSON.parse(readFileSync(join(packagesDir, folder, 'package.json'), 'utf8'));
  return { folder, name: manifest.name, manifest };
});

function run(command, args, cwd) {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

const tarballOf = new Map();
for (const pkg of packages) {
  run('pnpm', ['pack', '--pack-destination', tarballs], join(packagesDir, pkg.folder));
}
for (const file of readdirSync(tarballs)) {
  const pkg = packages.find((p) => file.startsWith(`${p.name.replace('@', '').replace('/', '-')}-`));
  if (pkg) tarballOf.set(pkg.name, join(tarballs, file));
}

/** The workspace packages `name` needs, itself included (their tarballs stand in for the registry). */
function withInternalDependencies(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const pkg = packages.find((p) => p.name === name);
  for (const dependency of Object.keys(pkg.manifest.dependencies ?? {})) {
    if (tarballOf.has(dependency)) withInternalDependencies(dependency, seen);
  }
  return seen;
}

// Beyond importing: one call per package that needs its shipped assets (the .wasm, the tfjs backend).
const smokeTests = {
  '@crypto-anomaly/kernels': 'm.instantiateKernels().abiVersion()',
  '@crypto-anomaly/core': "m.selectBackend('auto').then((b) => b.name)",
  // DuckDB's native binding comes from a per-platform package: prove it installed and works.
  '@crypto-anomaly/data':
    "m.KlineStore.open(':memory:').then(async (s) => { await s.upsert('BTCUSDT', '1h', m.generateSampleMarket({ count: 10 }).klines); const n = await s.count('BTCUSDT', '1h'); await s.close(); return n; })",
};

let failures = 0;
for (const pkg of packages) {
  const started = performance.now();
  const folder = join(work, pkg.folder);
  mkdirSync(folder);
  writeFileSync(
    join(folder, 'package.json'),
    JSON.stringify({ name: 'pack-check', private: true, type: 'module' }),
  );
  const needed = [...withInternalDependencies(pkg.name)].map((name) => tarballOf.get(name));
  try {
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...needed], folder);
    const listing = run('tar', ['-tzf', tarballOf.get(pkg.name)], folder);
    if (/package\/src\//.test(listing)) throw new Error('the tarball ships src/: only dist/ belongs in it');
    const exported = run(
      process.execPath,
      ['-e', `import('${pkg.name}').then((m) => console.log(Object.keys(m).length))`],
      folder,
    ).trim();
    if (!(Number(exported) > 0)) throw new Error(`import('${pkg.name}') exported nothing`);
    const smoke = smokeTests[pkg.name];
    const smokeResult = smoke
      ? run(
          process.execPath,
          ['-e', `import('${pkg.name}').then((m) => ${smoke}).then(console.log)`],
          folder,
        ).trim()
      : '';
    const bin = pkg.manifest.bin ? Object.keys(pkg.manifest.bin)[0] : undefined;
    if (bin) run(join(folder, 'node_modules', '.bin', bin), ['--version'], folder);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `ok   ${pkg.name}: installs alone and imports with plain node (${exported} exports${smoke ? `, smoke test -> ${smokeResult}` : ''}, ${seconds} s)`,
    );
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${pkg.name}: ${error.stderr || error.message}`);
  }
}
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Bytes on disk (`du -sb`) of node_modules and of its largest packages (scoped ones counted alone). */
function installedSize(folder) {
  const modules = join(folder, 'node_modules');
  const entries = readdirSync(modules).flatMap((name) =>
    name.startsWith('@') ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name],
  );
  const packageDirs = entries.filter((name) => !name.startsWith('.'));
  // Two calls: du counts a file once per call, so a folder listed after its parent would be empty.
  const total = Number(run('du', ['-sb', modules], folder).split('\t')[0]);
  const packagesBySize = run('du', ['-sb', ...packageDirs], modules)
    .trim()
    .split('\n')
    .map((line) => {
      const [bytes, name] = line.split('\t');
      return { bytes: Number(bytes), name };
    })
    .sort((a, b) => b.bytes - a.bytes);
  return { total, largest: packagesBySize.slice(0, 8), count: packagesBySize.length };
}

/**
 * Writes index.ts importing every runtime export of every entry point (and subpath) of the
 * workspace packages, by name, and compiles it with the workspace's tsc, strict and with
 * skipLibCheck off, so every declaration file the install brings in is checked. Returns the
 * compiler's output and its number of errors (0 when it compiles).
 */
function compileConsumer(folder) {
  const entryPoints = packages.flatMap((pkg) =>
    Object.keys(pkg.manifest.exports ?? { '.': '' })
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`)),
  );
  // The runtime names of each entry point; one that fails to import is still imported as a
  // namespace (its declarations are checked all the same) and its failure is reported.
  const listed = JSON.parse(
    run(
      process.execPath,
      [
        '-e',
        `Promise.allSettled(${JSON.stringify(entryPoints)}.map((s) => import(s))).then((r) => console.log(JSON.stringify(r.map((x) => x.status === 'fulfilled' ? Object.keys(x.value) : String(x.reason).split('\\n')[0]))))`,
      ],
      folder,
    ),
  );
  const notImported = [];
  const source = entryPoints
    .map((specifier, i) => {
      const exported = listed[i];
      if (!Array.isArray(exported)) notImported.push(`${specifier}: ${exported}`);
      const named = Array.isArray(exported) ? exported.filter((name) => name !== 'default') : [];
      const lines = [`import * as entry${i} from '${specifier}';`];
      // Aliased per entry point: a subpath may re-export names of its package's main entry.
      const alias = (name) => `${name} as entry${i}_${name}`;
      if (named.length > 0) lines.push(`import { ${named.map(alias).join(', ')} } from '${specifier}';`);
      lines.push(
        `export const used${i} = [entry${i}${named.map((name) => `, entry${i}_${name}`).join('')}];`,
      );
      return lines.join('\n');
    })
    .join('\n');
  writeFileSync(join(folder, 'index.ts'), `${source}\n`);
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        noEmit: true,
        // A Node consumer has @types/node; the workspace's stands in for it (no network here).
        // Its own node_modules/@types come first and are all included, as by default (tfjs-core's
        // declarations use the global \`Long\` of the @types/long it installs).
        typeRoots: [join(folder, 'node_modules', '@types'), join(root, 'node_modules', '@types')],
      },
      files: ['index.ts'],
    }),
  );
  try {
    run(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      folder,
    );
    return { count: 0, output: '', notImported };
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    return { count: (output.match(/ error TS\d+:/g) ?? []).length || 1, output, notImported };
  }
}

let sizeFigure = 'not measured';
let consumerFigure = 'not run';
const cli = packages.find((pkg) => pkg.name === CLI_PACKAGE);
const cliFolder = cli && join(work, cli.folder);
if (!cliFolder || !existsSync(join(cliFolder, 'node_modules', ...CLI_PACKAGE.split('/')))) {
  failures += 1;
  console.log(`FAIL ${CLI_PACKAGE} did not install: neither its size nor a consumer could be checked`);
} else {
  let started = performance.now();
  const size = installedSize(cliFolder);
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  sizeFigure = `${megabytes(size.total)} (limit ${megabytes(MAX_INSTALLED_BYTES)})`;
  const over = size.total > MAX_INSTALLED_BYTES;
  if (over) failures += 1;
  console.log(
    `${over ? 'FAIL' : 'ok  '} ${CLI_PACKAGE} installed size: ${sizeFigure}, ${size.count} packages in node_modules (${seconds()} s); largest:`,
  );
  for (const { name, bytes } of size.largest) console.log(`       ${megabytes(bytes).padStart(9)}  ${name}`);

  started = performance.now();
  const compiled = compileConsumer(cliFolder);
  consumerFigure = `${compiled.count} error${compiled.count === 1 ? '' : 's'}`;
  if (compiled.count > 0) failures += 1;
  console.log(
    `${compiled.count > 0 ? 'FAIL' : 'ok  '} a TypeScript consumer importing every export (strict, skipLibCheck false): ${consumerFigure} (${seconds()} s)`,
  );
  for (const line of compiled.output.split('\n').filter(Boolean)) console.log(`       ${line}`);
  for (const line of compiled.notImported) {
    console.log(`       (checked as a namespace only: it failed to import with plain node: ${line})`);
  }
}
console.log(
  `figures: ${CLI_PACKAGE} installed from its tarballs: ${sizeFigure}; consumer tsc with skipLibCheck false: ${consumerFigure}`,
);
rmSync(work, { recursive: true, force: true });
process.exitCode = failures === 0 ? 0 : 1;
