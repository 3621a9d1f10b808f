// The engine worker: waits for the page to name its WebAssembly module (the hashed names
// Trunk wrote into index.html), loads it and starts the engine, which decodes, trains and
// predicts off the main thread. (The names come by message, not in the URL: a service worker
// answering from its cache gives the worker the cached URL, without a query string.)
//
// The same script runs the engine's helpers, started through `medclassifySpawnHelper` with
// the engine's compiled module (so a helper neither downloads nor compiles anything): decoding
// helpers for a large load (one per core), and a training helper that computes half of each
// batch when training on the CPU with a second core.
self.addEventListener('message', async function boot(event) {
  const names = event.data && event.data.medclassifyModule;
  if (!names) return;
  self.removeEventListener('message', boot);
  const { default: init, start_worker, start_decoder, start_peer } = await import(names.js);
  await init({ module_or_path: names.wasm });
  if (event.data.role === 'decoder') {
    start_decoder();
    return;
  }
  if (event.data.role === 'peer') {
    start_peer();
    return;
  }
  self.medclassifySpawnHelper = (module, role) => {
    const helper = new Worker(self.location.href, { type: 'module' });
    helper.postMessage({ medclassifyModule: { js: names.js, wasm: module }, role });
    return helper;
  };
  start_worker();
});
