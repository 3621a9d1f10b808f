// MedClassify service worker: caches the app shell, wasm, sample data and ready model so the
// page works offline after its first load. Same-origin only; it never contacts another host.
const VERSION = "__MEDCLASSIFY_BUILD__";
const CACHE = `medclassify-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const list = await (await fetch("precache.json", { cache: "no-store" })).json();
    // "no-cache": every file is revalidated with the server (a 304 when the page has just
    // downloaded it), never taken unchecked from the HTTP cache, so this build's cache cannot
    // hold a file of the previous build (say, an old engine.js beside a new wasm).
    await cache.addAll(list.map((url) => new Request(url, { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

// A pretrained network's weights (18.8 MB) are not part of any build's cache: they are
// downloaded only when a run first needs them and then kept across builds, under a URL that
// carries their checksum (a new file is a new URL), so they are never downloaded twice.
const WEIGHTS_CACHE = "medclassify-weights";
const WEIGHTS = /\/weights\/[^/]+\.safetensors$/;

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("medclassify-") && key !== CACHE && key !== WEIGHTS_CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

// The page and the two scripts whose names do not change with their contents (boot.js and
// engine.js, which load the wasm the page names): network first, so a new build is taken
// whole (its page, its scripts, its content-hashed wasm) and never an old engine.js beside a
// new wasm; this build's cache when offline. Everything else has a content-hashed name or is
// data: cache first.
const NETWORK_FIRST = /\/(boot|engine)\.js$/;

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(WEIGHTS.test(url.pathname) ? WEIGHTS_CACHE : CACHE);
    if (request.mode === "navigate" || NETWORK_FIRST.test(url.pathname)) {
      try {
        const response = await fetch(request);
        if (response.ok) cache.put(request, response.clone());
        return response;
      } catch (error) {
        const fallback = request.mode === "navigate" ? await cache.match("./", { ignoreVary: true }) : null;
        return (await cache.match(request, { ignoreVary: true })) || fallback || Response.error();
      }
    }
    // Exact URLs only: every file of a build is in this build's cache under its own name.
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    const response = await fetch(request);
    if (response.ok && url.pathname.indexOf("/precache.json") < 0) cache.put(request, response.clone());
    return response;
  })());
});
