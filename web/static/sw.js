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
      try {
        return await fetch(request);
      } catch (_) {
        // Offline: the page of the person who last opened it on this device, if kept.
        const person = await caches.match(PERSON_KEY);
        const who = person ? await person.text() : "";
        return (who && (await caches.match(`${url.pathname}?person=${who}`))) || offlinePage();
      }
    })(),
  );
});
