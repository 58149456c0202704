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

// What the server refuses this device now it keeps no offline copy of: the page and the
// document's own copy (IndexedDB, web/src/sync.js). A live document's 403 (the phase moved
// on, the person was taken off the list) names whose copy in its "kring-forget" header: only
// that person's goes, never another's on a shared tablet (their edits made without a
// connection may still be waiting to be sent). A 404 or 410 (the conference is gone, erased)
// takes the page for everyone and the copy of the person who last kept a page here. Any other
// answer, a 403 that names nobody and a 401 (signed out: signing in again may still send
// edits) leave everything. An open page forgets by itself when its live connection is closed
// for good; this is for the page that was not open, or that reloaded.
const GONE = new Set([404, 410]);

async function forget(pathname, response) {
  const named = response.status === 403 ? response.headers.get("kring-forget") : null;
  if (response.status === 403 && !named) return;
  let kept = false; // only a live document's page is kept (web/src/device.js)
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const entry of await cache.keys()) {
      const at = new URL(entry.url);
      if (at.pathname !== pathname) continue;
      if (named !== null && at.searchParams.get("person") !== named) continue;
      kept = (await cache.delete(entry)) || kept;
    }
  }
  const [, area, conference, document] = pathname.split("/"); // /c/{conference}/{document}...
  const last = await caches.match(PERSON_KEY);
  if (area !== "c" || !conference || !document || !self.indexedDB) return;
  if (named === null && (!kept || !last)) return; // a page never kept here: no copy either
  const who = named ?? decodeURIComponent(await last.text());
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
      if (response.status === 403 || GONE.has(response.status))
        event.waitUntil(forget(url.pathname, response));
      return response;
    })(),
  );
});
