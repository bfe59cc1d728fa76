#!/usr/bin/env node
// Packs every workspace package with `pnpm pack`, installs each tarball into its own empty folder
// outside the workspace with plain npm, and imports it with plain node: proof that a user who
// installs one package alone gets working built code (no tsx, no workspace links, no src/).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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
rmSync(work, { recursive: true, force: true });
process.exitCode = failures === 0 ? 0 : 1;
