// A plain static file server for dist/ (what any static host does), used by
// scripts/serve.sh and by the end-to-end tests. Serves `root` under `prefix` ("/" or "/demo/").
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpeg': 'image/jpeg', '.jpg': 'image/jpeg', '.md': 'text/markdown; charset=utf-8',
  '.mcmodel': 'application/octet-stream',
};

// Compressed once per file, as a static host (or a pre-compressing build) does.
const brotliCache = new Map();
function brotli(file, body) {
  if (!brotliCache.has(file)) brotliCache.set(file, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
  return brotliCache.get(file);
}

/**
 * Starts a server; resolves to { url, close(), requests, sent } (requests: every path asked
 * for; sent: bytes sent per path). wasm, JS, CSS, HTML and JSON go out brotli-compressed when
 * the client accepts it, as modern static hosts serve them.
 */
export function startServer({ root, port = 0, prefix = '/' }) {
  const base = resolve(root);
  const requests = [];
  const sent = new Map();
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(path);
    if (!path.startsWith(prefix)) {
      res.writeHead(404).end('not found');
      return;
    }
    let file = normalize(join(base, path.slice(prefix.length)));
    if (!file.startsWith(base)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const info = await stat(file);
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      let body = await readFile(file);
      const headers = { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache', vary: 'accept-encoding', etag };
      if (/\.(wasm|js|mjs|css|html|json|svg)$/.test(file) && /\bbr\b/.test(req.headers['accept-encoding'] || '')) {
        body = brotli(file, body);
        headers['content-encoding'] = 'br';
      }
      res.writeHead(200, headers);
      res.end(body);
      sent.set(path, (sent.get(path) || 0) + body.length);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => {
    const { port: bound } = server.address();
    ok({ url: `http://127.0.0.1:${bound}${prefix}`, requests, sent, close: () => new Promise((done) => server.close(done)) });
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root = 'dist', port = '8080', prefix = '/'] = process.argv.slice(2);
  const { url } = await startServer({ root, port: Number(port), prefix });
  console.log(`serving ${root} at ${url}`);
}
