// The static server behind scripts/serve.sh and every end-to-end test: it stays inside its
// folder, answers bad escapes with 400, sends the security headers of www/_headers on every
// response, sends the precompressed file a client accepts, and never compresses on the
// request path (a 40 MB file goes out at once, as it is). No browser needed.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { ARTIFACTS, ROOT } from './helpers.mjs';
import { SECURITY_HEADERS, startServer } from './server.mjs';

/** A raw GET (fetch would normalise `..` and refuse some escapes before sending them). */
function get(url, path, headers = {}) {
  const { hostname, port } = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('the server stays in its folder, sends the security headers and precompressed files only', async () => {
  const base = join(ARTIFACTS, 'server-test');
  rmSync(base, { recursive: true, force: true });
  const root = join(base, 'dist');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(base, 'dist-secret'), { recursive: true });
  writeFileSync(join(base, 'dist-secret', 'key.txt'), 'secret');
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  const js = Buffer.from('console.log("engine");\n'.repeat(1000));
  writeFileSync(join(root, 'engine.js'), js);
  writeFileSync(join(root, 'engine.js.br'), brotliCompressSync(js));
  writeFileSync(join(root, 'engine.js.gz'), gzipSync(js));
  const big = Buffer.alloc(40 * 1024 * 1024, 7);
  writeFileSync(join(root, 'sub', 'big.wasm'), big);

  const server = await startServer({ root, prefix: '/' });
  try {
    // Traversal and bad escapes.
    for (const path of ['/..%2fdist-secret/key.txt', '/sub/..%2f..%2fdist-secret%2fkey.txt', '/%2e%2e%2fdist-secret/key.txt']) {
      const r = await get(server.url, path);
      // README promises 403 for a path that leaves the folder (not a 404 that could also mean
      // the path was misread).
      assert.equal(r.status, 403, `${path}: ${r.status}`);
      assert.ok(!r.body.toString().includes('secret'), `${path} leaked a sibling folder`);
    }
    assert.equal((await get(server.url, '/%E0%A4%A')).status, 400);
    assert.equal((await get(server.url, '/sub%00.js')).status, 400);

    // Headers on every response, errors included; the policy a <meta> cannot give workers.
    const page = await get(server.url, '/');
    const worker = await get(server.url, '/engine.js');
    const missing = await get(server.url, '/nope');
    assert.equal(missing.status, 404);
    const policy = readFileSync(join(ROOT, 'www', '_headers'), 'utf8').match(/Content-Security-Policy: (.*)/)[1];
    for (const r of [page, worker, missing]) {
      assert.equal(r.headers['content-security-policy'], policy);
      assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
      assert.match(r.headers['content-security-policy'], /connect-src 'self'/);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(r.headers[name], value, name);
    }

    // The precompressed file the client accepts; the file itself otherwise.
    const br = await get(server.url, '/engine.js', { 'accept-encoding': 'gzip, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.ok(br.body.equals(readFileSync(join(root, 'engine.js.br'))));
    const gz = await get(server.url, '/engine.js', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const plain = await get(server.url, '/engine.js');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.equals(js));

    // No compression on the request path: 40 MB without a precompressed copy goes out as it is.
    const started = Date.now();
    const wasm = await get(server.url, '/sub/big.wasm', { 'accept-encoding': 'gzip, br' });
    assert.equal(wasm.headers['content-encoding'], undefined);
    assert.equal(wasm.body.length, big.length);
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    console.log(`40 MB served uncompressed in ${Date.now() - started} ms`);
  } finally {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  }
});
