// Starts the page's WebAssembly. Trunk writes the hashed file names into the
// <meta name="medclassify-app"> tag; keeping this in a file (not an inline script) lets the
// Content-Security-Policy forbid inline scripts.
const meta = document.querySelector('meta[name="medclassify-app"]');
const { default: init } = await import(meta.dataset.js);
await init({ module_or_path: meta.dataset.wasm });
