// Starts the page. Trunk writes the hashed names of the module into the
// <meta name="medclassify-app"> tag; keeping this in a file (not an inline script) lets the
// Content-Security-Policy forbid inline scripts. The engine worker (engine.js) loads the same
// module, so it is downloaded once.
const meta = document.querySelector('meta[name="medclassify-app"]');
const { default: init, start_app } = await import(meta.dataset.js);
await init({ module_or_path: meta.dataset.wasm });
start_app();
