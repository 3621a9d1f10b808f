// The engine worker: loads the page's WebAssembly module (URLs passed by the page as
// ?js=...&wasm=...) and starts the engine, which trains, decodes and predicts off the main thread.
const params = new URL(self.location.href).searchParams;
const { default: init, start_worker } = await import(params.get('js'));
await init({ module_or_path: params.get('wasm') });
start_worker();
