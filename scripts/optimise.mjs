// The deployable build: `node scripts/optimise.mjs [dist] [dist-deploy]` copies Trunk's
// output, shrinks the wasm with `wasm-opt -Oz` (40 MB -> 18 MB) and writes a `.br` and a
// `.gz` beside every compressible file, so a static server (tests/e2e/server.mjs, or a host
// that serves precompressed files) never compresses on the request path.
//
// wasm-opt is npm's binaryen (a wasm build run by Node, one core): about 11 minutes on this
// machine for the MedClassify module. Its output is cached by the SHA-256 of its input under
// $MEDCLASSIFY_CACHE (default ~/.cache/medclassify), so an unchanged build is optimised once.
// `scripts/serve.sh` and most end-to-end tests use the plain `dist/` (over loopback its size
// does not matter); the deployed site (.github/workflows/pages.yml) and the download-budget
// test use this one.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const [src = join(ROOT, 'dist'), out = join(ROOT, 'dist-deploy')] = process.argv.slice(2);
const CACHE = join(process.env.MEDCLASSIFY_CACHE || join(homedir(), '.cache', 'medclassify'), 'wasm-opt');
// The flags Trunk used to pass: the features rustc's output uses, no debug sections.
const WASM_OPT_FLAGS = ['-Oz', '--enable-simd', '--enable-bulk-memory', '--enable-nontrapping-float-to-int',
  '--enable-sign-ext', '--enable-mutable-globals', '--strip-debug', '--strip-producers'];
const COMPRESSIBLE = /\.(wasm|js|mjs|css|html|json|svg|md)$/;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const log = (text) => console.log(`[optimise] ${text}`);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Runs `command` (its output shown); ended with this process if that is ended first. */
function run(command, args) {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    const end = () => child.kill('SIGTERM');
    process.once('SIGTERM', end);
    process.once('SIGINT', end);
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', end);
      process.off('SIGINT', end);
      if (code === 0) ok();
      else fail(new Error(`${command} ended with ${signal || `exit code ${code}`}`));
    });
  });
}

/** `wasm-opt` of `input`, from the cache when this exact input was optimised before. */
async function optimised(input) {
  const bytes = readFileSync(input);
  const key = sha256(Buffer.concat([bytes, Buffer.from(WASM_OPT_FLAGS.join(' '))]));
  const cached = join(CACHE, `${key}.wasm`);
  if (existsSync(cached)) {
    log(`wasm-opt: cached (${relative(homedir(), cached)})`);
    return readFileSync(cached);
  }
  mkdirSync(CACHE, { recursive: true });
  const partial = `${cached}.${process.pid}.partial`;
  const start = Date.now();
  log(`wasm-opt -Oz on ${(bytes.length / 1e6).toFixed(1)} MB (about 7-11 minutes on one core; cached afterwards)`);
  try {
    await run('wasm-opt', [...WASM_OPT_FLAGS, input, '-o', partial]);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  renameSync(partial, cached);
  const result = readFileSync(cached);
  log(`wasm-opt: ${(bytes.length / 1e6).toFixed(1)} MB -> ${(result.length / 1e6).toFixed(1)} MB in ${((Date.now() - start) / 1000).toFixed(0)} s`);
  return result;
}

/** Writes `bytes` to `path` through a temporary file, so no reader sees half a file. */
function writeAtomic(path, bytes) {
  const partial = `${path}.partial`;
  writeFileSync(partial, bytes);
  renameSync(partial, path);
}

async function main() {
  if (!existsSync(join(src, 'index.html'))) throw new Error(`${src}/index.html is missing: run \`trunk build --release\` first`);
  const staging = `${out}.${process.pid}.partial`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(src, staging, { recursive: true });

  for (const file of walk(staging).filter((f) => f.endsWith('_bg.wasm'))) writeAtomic(file, await optimised(file));

  // The service worker's cache name follows the files it serves: a new wasm, a new version,
  // so a browser never mixes this build's files with the plain build's.
  const sw = join(staging, 'sw.js');
  if (existsSync(sw)) {
    // (The pretrained weights are not part of it: see scripts/post-build.sh.)
    const files = walk(staging).filter((f) => !/\/(sw\.js|precache\.json)$/.test(f) && !/\/weights\//.test(f)).sort();
    const version = sha256(Buffer.concat(files.map((f) => readFileSync(f)))).slice(0, 16);
    writeFileSync(sw, readFileSync(sw, 'utf8').replace(/const VERSION = "[^"]*"/, `const VERSION = "${version}"`));
  }

  // Precompressed copies, computed in Node's thread pool (both cores).
  const start = Date.now();
  const brotli = promisify(brotliCompress);
  const gz = promisify(gzip);
  await Promise.all(walk(staging).filter((f) => COMPRESSIBLE.test(f)).map(async (file) => {
    const bytes = readFileSync(file);
    const [br, gzipped] = await Promise.all([
      brotli(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }),
      gz(bytes, { level: 9 }),
    ]);
    writeFileSync(`${file}.br`, br);
    writeFileSync(`${file}.gz`, gzipped);
  }));
  log(`precompressed in ${((Date.now() - start) / 1000).toFixed(0)} s`);

  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  const wasm = walk(out).filter((f) => f.endsWith('_bg.wasm'));
  for (const f of wasm) log(`${relative(ROOT, f)}: ${(statSync(f).size / 1e6).toFixed(2)} MB, brotli ${(statSync(`${f}.br`).size / 1e6).toFixed(2)} MB`);
  log(`wrote ${relative(process.cwd(), out) || out}`);
}

main().catch((error) => {
  console.error(`[optimise] ${error.message}`);
  for (const dir of [`${out}.${process.pid}.partial`]) rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
