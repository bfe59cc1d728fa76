#!/usr/bin/env node
// Packs every workspace package with `pnpm pack`, installs each tarball into its own empty folder
// outside the workspace with plain npm, and imports it with plain node: proof that a user who
// installs one package alone gets working built code (no tsx, no workspace links, no src/).
// Each tarball is audited first (LICENSE, metadata, no src/ or source condition, no dangling source
// maps). Then, in the CLI's folder (which holds every package): the installed size against a limit,
// a TypeScript consumer compiled against the installed declarations with skipLibCheck off, and the
// README's install lines: `npm install -g crypto-anomaly` and `npx crypto-anomaly`.
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
import { dirname, join, resolve } from 'node:path';

// Issue "One backbone for the engine": the CLI installed from its packed tarballs takes at most
// 200 MB (452 MB before, 286 MB of it TensorFlow.js). MB here is 10^6 bytes, as `du -sb` counts.
const MAX_INSTALLED_BYTES = 200e6;
/** The package whose install folder holds every package: the size and the consumer are checked there. */
const CLI_PACKAGE = 'crypto-anomaly';
/** The export condition that points workspace tests at src/: it must not reach a tarball. */
const SOURCE_CONDITION = '@crypto-anomaly/source';

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
for (const pkg of packages) {
  // pnpm names a tarball <scope>-<name>-<version>.tgz: matched whole, since `crypto-anomaly-` alone
  // is also the start of `crypto-anomaly-core-`.
  const file = `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.manifest.version}.tgz`;
  if (existsSync(join(tarballs, file))) tarballOf.set(pkg.name, join(tarballs, file));
}

/**
 * What a published tarball must hold and must not: LICENSE, `repository` and `keywords`; no src/;
 * no export condition naming the workspace's sources (`publishConfig.exports` drops it at pack
 * time); no source map, or `sourceMappingURL` comment, naming a file the tarball does not ship.
 * Returns the problems found, each a sentence.
 */
function tarballProblems(pkg) {
  const contents = join(work, 'contents', pkg.folder);
  mkdirSync(contents, { recursive: true });
  run('tar', ['-xzf', tarballOf.get(pkg.name), '-C', contents], contents);
  const root = join(contents, 'package');
  const files = readdirSync(root, { recursive: true }).map(String);
  const shipped = new Set(files.map((file) => resolve(root, file)));
  const problems = [];
  if (!shipped.has(join(root, 'LICENSE'))) problems.push('no LICENSE file');
  if (files.some((file) => file.startsWith('src/')))
    problems.push('it ships src/: only built files belong in it');
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (!manifest.repository?.url) problems.push('package.json has no repository.url');
  if (!(manifest.keywords?.length > 0)) problems.push('package.json has no keywords');
  if (JSON.stringify(manifest.exports ?? {}).includes(SOURCE_CONDITION)) {
    problems.push(
      `its exports still carry the ${SOURCE_CONDITION} condition (pointing at src/, not shipped)`,
    );
  }
  // The README's relative links (docs/…, examples/…) must reach files the tarball ships: in
  // node_modules, or an unpacked tarball, nothing else is beside it.
  const readme = shipped.has(join(root, 'README.md')) ? readFileSync(join(root, 'README.md'), 'utf8') : '';
  const linked = new Set(Array.from(readme.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g), (match) => match[1]));
  for (const target of linked) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    if (!shipped.has(resolve(root, target))) {
      problems.push(
        `its README links ${target}, which is not in the tarball (add it to "files", or link it in full)`,
      );
    }
  }
  for (const file of files) {
    const path = join(root, file);
    if (file.endsWith('.map')) {
      const map = JSON.parse(readFileSync(path, 'utf8'));
      const missing = (map.sources ?? []).filter(
        (source, i) => map.sourcesContent?.[i] == null && !shipped.has(resolve(dirname(path), source)),
      );
      if (missing.length > 0) problems.push(`${file} maps to ${missing[0]}, which is not in the tarball`);
    } else if (/\.(js|mjs|cjs|ts)$/.test(file)) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(path, 'utf8'))?.[1];
      if (url && !url.startsWith('data:') && !shipped.has(resolve(dirname(path), url))) {
        problems.push(`${file} names the source map ${url}, which is not in the tarball`);
      }
    }
  }
  // A file whose source was deleted stays in dist/ until dist/ is removed (tsc never deletes).
  if (problems.some((problem) => problem.includes('names the source map'))) {
    problems.push(
      'a dist/ file naming a map is likely left by an earlier build: remove dist/ and build again',
    );
  }
  return problems;
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
    const problems = tarballProblems(pkg);
    if (problems.length > 0) throw new Error(`its tarball: ${problems.join('; ')}`);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...needed], folder);
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
    if (bin) {
      const version = run(join(folder, 'node_modules', '.bin', bin), ['--version'], folder).trim();
      if (version !== pkg.manifest.version) throw new Error(`${bin} --version printed "${version}"`);
    }
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
// The README's install lines, from the tarballs: `npm install -g crypto-anomaly` (into a prefix of
// our own, not the machine's) gives a working command, and so does `npx crypto-anomaly`.
let globalFigure = 'not run';
if (cli) {
  const started = performance.now();
  const prefix = join(work, 'global');
  const needed = [...withInternalDependencies(CLI_PACKAGE)].map((name) => tarballOf.get(name));
  try {
    run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', ...needed],
      work,
    );
    const bin = Object.keys(cli.manifest.bin)[0];
    const global = run(join(prefix, 'bin', bin), ['--version'], work).trim();
    if (global !== cli.manifest.version) throw new Error(`the global ${bin} --version printed "${global}"`);
    const viaNpx = cliFolder ? run('npx', ['--no-install', CLI_PACKAGE, '--version'], cliFolder).trim() : '';
    if (viaNpx !== cli.manifest.version) throw new Error(`npx ${CLI_PACKAGE} --version printed "${viaNpx}"`);
    globalFigure = `${bin} --version ${global} (npm install -g) and ${viaNpx} (npx)`;
    console.log(`ok   ${globalFigure} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failures += 1;
    globalFigure = 'failed';
    console.log(`FAIL npm install -g / npx ${CLI_PACKAGE}: ${error.stderr || error.message}`);
  }
}
console.log(
  `figures: ${CLI_PACKAGE} installed from its tarballs: ${sizeFigure}; consumer tsc with skipLibCheck false: ${consumerFigure}; global install: ${globalFigure}`,
);
rmSync(work, { recursive: true, force: true });
process.exitCode = failures === 0 ? 0 : 1;
