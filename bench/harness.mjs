// The benchmark harness pages (bench/page/) are not the product: they load the peer libraries
// the benchmarks compare MedClassify with, and TensorFlow.js evaluates a string when it starts
// ('unsafe-eval'), which the product's Content-Security-Policy forbids (it stopped every TF.js
// row once, silently). So the bench server gives those pages a policy of their own; the
// product's pages and workers keep theirs. Still nothing but the page's own origin.
// The harness pages and the peer libraries they load (ONNX Runtime Web starts its threads as
// workers from its own scripts, and a worker's policies come from its script's response).
export const HARNESS_PREFIXES = ['/bench/page/', '/bench/node_modules/'];

export const HARNESS_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/** The headers that replace the product's for `path` (none outside the harness pages). The
 * harness pages are also cross-origin isolated (COOP, which every page gets, and COEP):
 * ONNX Runtime Web runs its wasm on more than one thread only there. */
export function harnessHeaders(path) {
  return HARNESS_PREFIXES.some((prefix) => path.startsWith(prefix))
    ? { 'content-security-policy': HARNESS_POLICY, 'cross-origin-embedder-policy': 'require-corp' }
    : {};
}

/**
 * An init script (`context.addInitScript(recordTrainingEvents)`): keeps every training event
 * the engine posts to the page in `window.__events`, each with the page's clock (`at`,
 * `performance.now()`), by listening on every worker the page starts.
 */
export function recordTrainingEvents() {
  window.__events = [];
  const Original = window.Worker;
  window.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (m) => {
        const event = m.data?.Training?.event;
        if (event?.type) window.__events.push({ at: performance.now(), ...event });
      });
    }
  };
}
