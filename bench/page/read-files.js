// How fast this browser hands over the bytes of picked files, with nothing else to do: the
// floor under the app's loading. ?mode=read: `arrayBuffer()` 64 files at a time (as the app
// reads); ?mode=size: the same after asking each file its `size` (a synchronous disk look).
document.getElementById('folder').addEventListener('change', async (event) => {
  const files = [...event.target.files];
  const mode = new URLSearchParams(location.search).get('mode') || 'read';
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < files.length; i += 64) {
    const chunk = files.slice(i, i + 64);
    if (mode === 'size') for (const f of chunk) bytes -= f.size;
    const buffers = await Promise.all(chunk.map((f) => f.arrayBuffer()));
    for (const b of buffers) bytes += b.byteLength;
  }
  window.result = { mode, files: files.length, ms: Math.round(performance.now() - started), bytes };
});
