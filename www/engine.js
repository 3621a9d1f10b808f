// The engine worker: waits for the page to name its WebAssembly module (the hashed names
// Trunk wrote into index.html), loads it and starts the engine, which decodes, trains and
// predicts off the main thread. (The names come by message, not in the URL: a service worker
// answering from its cache gives the worker the cached URL, without a query string.)
self.addEventListener('message', async function boot(event) {
  const names = event.data && event.data.medclassifyModule;
  if (!names) return;
  self.removeEventListener('message', boot);
  const { default: init, start_worker } = await import(names.js);
  await init({ module_or_path: names.wasm });
  start_worker();
});
