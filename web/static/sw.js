// Kring's service worker: a tablet that opened the plan once can reload it without a
// connection. The network always comes first; the cache answers only when it fails, so
// nobody sees an old page while the server can be reached (and a 403 from the server, such
// as private time for a professional, is shown as it is, never replaced by a cached plan).
// The page puts itself (per person) and its assets in the cache (web/src/device.js); built
// assets have content-hashed names, so a cached one is never stale.

const PERSON_KEY = "/kring-offline-person"; // as web/src/device.js writes it

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

const offlinePage = () =>
  new Response(
    '<!doctype html><html lang="nl"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
      '<title>Geen verbinding · Kring</title><main style="font-family: system-ui; padding: 1rem">' +
      "<h1>Geen verbinding</h1><p>Deze pagina is niet op dit apparaat bewaard. Probeer het opnieuw als er weer verbinding is.</p>" +
      '<p lang="en">No connection, and this page is not kept on this device. Try again when the connection is back.</p></main></html>',
    { status: 503, headers: { "content-type": "text/html; charset=utf-8" } },
  );

// What the server refuses this device now (403: the phase moved on, the person was taken off
// the list; 404 or 410: gone, erased) it keeps no offline copy of: the page, for everyone who
// kept it here, and the document's own copy (IndexedDB, web/src/sync.js) of the person who
// last kept a page on this device. (A 401, signed out, leaves both: signing in again may
// still send edits made without a connection.) An open page forgets by itself when its live
// connection is closed for good; this is for the page that was not open, or that reloaded.
const REFUSED = new Set([403, 404, 410]);

async function forget(pathname) {
  let kept = false; // only a live document's page is kept (web/src/device.js)
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const entry of await cache.keys()) {
      if (new URL(entry.url).pathname === pathname) kept = (await cache.delete(entry)) || kept;
    }
  }
  const [, area, conference, document] = pathname.split("/"); // /c/{conference}/{document}...
  const person = await caches.match(PERSON_KEY);
  if (!kept || area !== "c" || !conference || !document || !person || !self.indexedDB) return;
  const who = decodeURIComponent(await person.text());
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(`kring:${conference}:${document}:${who}`);
    request.onsuccess = request.onerror = request.onblocked = resolve;
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/build/")) {
    event.respondWith(
      fetch(request).catch(
        async () => (await caches.match(request, { ignoreSearch: true })) || Response.error(),
      ),
    );
    return;
  }
  if (request.mode !== "navigate") return;
  event.respondWith(
    (async () => {
      let response;
      try {
        response = await fetch(request);
      } catch (_) {
        // Offline: the page of the person who last opened it on this device, if kept.
        const person = await caches.match(PERSON_KEY);
        const who = person ? await person.text() : "";
        return (who && (await caches.match(`${url.pathname}?person=${who}`))) || offlinePage();
      }
      // What the server refuses this device now (the phase moved on, the person was taken off
      // the list, the conference was erased) it keeps no offline copy of either, for nobody.
      if (REFUSED.has(response.status)) event.waitUntil(forget(url.pathname));
      return response;
    })(),
  );
});
