// A plain static file server for dist/ (what any static host does), used by
// scripts/serve.sh and by the end-to-end tests. Serves `root` under `prefix` ("/" or "/demo/").
//
// Nothing is compressed on the request path: compressing the 40 MB wasm at brotli quality 11
// blocks Node's event loop for over a minute, which once left the page blank and timed the
// tests out. A file goes out as `NAME.br` or `NAME.gz` when the build wrote one beside it
// (`node scripts/optimise.mjs` does, for the deployed build) and the client accepts it,
// otherwise as it is, streamed.
import { createReadStream, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpeg': 'image/jpeg', '.jpg': 'image/jpeg', '.md': 'text/markdown; charset=utf-8',
  '.mcmodel': 'application/octet-stream',
};

/**
 * The security headers of every response: those of www/_headers (the file static hosts
 * read), so the two cannot drift apart.
 */
export const SECURITY_HEADERS = Object.fromEntries(
  readFileSync(new URL('../../www/_headers', import.meta.url), 'utf8').split('\n')
    .filter((line) => /^\s+[A-Za-z-]+:/.test(line))
    .map((line) => {
      const at = line.indexOf(':');
      return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
    }),
);

async function isFile(path) {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The file to send for `file`: a precompressed sibling the client accepts, else the file. */
async function pick(file, acceptEncoding) {
  const accepts = (name) => new RegExp(`\\b${name}\\b`).test(acceptEncoding || '');
  if (accepts('br') && await isFile(`${file}.br`)) return { path: `${file}.br`, encoding: 'br' };
  if (accepts('gzip') && await isFile(`${file}.gz`)) return { path: `${file}.gz`, encoding: 'gzip' };
  return { path: file, encoding: null };
}

/** The file under `base` that `path` (after `prefix`) names, or null when it leaves `base`. */
function resolveInside(base, prefix, rawPath) {
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { status: 400 };
  }
  if (!path.startsWith(prefix)) return { status: 404 };
  if (path.includes('\0')) return { status: 400 };
  const file = resolve(base, `.${sep}${path.slice(prefix.length)}`);
  if (file !== base && !file.startsWith(base + sep)) return { status: 403 };
  return { file };
}

/**
 * Starts a server; resolves to { url, close(), requests, sent } (requests: every path asked
 * for; sent: bytes sent per path, as transferred). `headersFor(path)` may replace headers for
 * some paths (the benchmark harness pages, which are not the product: bench/harness.mjs);
 * every other response carries the product's.
 */
export function startServer({ root, port = 0, prefix = '/', headersFor = () => ({}) }) {
  const base = resolve(root);
  const requests = [];
  const sent = new Map();
  const server = createServer(async (req, res) => {
    const rawPath = new URL(req.url, 'http://x').pathname;
    requests.push(rawPath);
    const fail = (status, text) => res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain' }).end(text);
    const target = resolveInside(base, prefix, rawPath);
    if (!target.file) return fail(target.status, target.status === 403 ? 'forbidden' : target.status === 400 ? 'bad request' : 'not found');
    try {
      let file = target.file;
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const info = await stat(file);
      if (!info.isFile()) return fail(404, 'not found');
      const { path, encoding } = await pick(file, req.headers['accept-encoding']);
      const body = path === file ? info : await stat(path);
      const etag = `"${body.size.toString(16)}-${Math.floor(body.mtimeMs).toString(16)}${encoding ? `-${encoding}` : ''}"`;
      const headers = { ...SECURITY_HEADERS, ...headersFor(rawPath), 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache', vary: 'accept-encoding', etag };
      if (req.headers['if-none-match'] === etag) return res.writeHead(304, headers).end();
      if (encoding) headers['content-encoding'] = encoding;
      headers['content-length'] = body.size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') return res.end();
      createReadStream(path).on('error', () => res.destroy()).pipe(res);
      sent.set(rawPath, (sent.get(rawPath) || 0) + body.size);
    } catch {
      fail(404, 'not found');
    }
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => {
    const { port: bound } = server.address();
    ok({ url: `http://127.0.0.1:${bound}${prefix}`, requests, sent, close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }) });
  }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root = 'dist', port = '8080', prefix = '/'] = process.argv.slice(2);
  const { url } = await startServer({ root, port: Number(port), prefix });
  console.log(`serving ${root} at ${url}`);
}
