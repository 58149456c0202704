// This device: keeping the screen awake during the meeting, keeping the app shell for a
// reload without a connection, and forgetting everything Kring kept here.

export const SHELL_CACHE = "kring-shell";
export const LOCAL_PREFIX = "kring:"; // every document copy Kring keeps in IndexedDB

// The screen stays on while the plan is open (where the browser has Screen Wake Lock).
export function keepAwake() {
  if (!("wakeLock" in navigator)) return;
  let lock = null;
  const request = async () => {
    if (document.visibilityState !== "visible" || lock) return;
    try {
      lock = await navigator.wakeLock.request("screen");
      lock.addEventListener("release", () => {
        lock = null;
      });
    } catch (_) {
      lock = null; // refused (battery saver, no permission): the screen may dim; nothing breaks
    }
  };
  document.addEventListener("visibilitychange", request);
  request();
}

// The service worker (/sw.js) answers from this cache only when the network fails; the page
// puts itself (under its person: on a shared tablet each person gets their own page back) and
// its scripts and styles in it, so a reload without a connection still opens the plan (the
// document itself is in IndexedDB). PERSON_KEY says whose page was opened last on this device.
export const PERSON_KEY = "/kring-offline-person";

export async function keepForOffline(person) {
  if (!("serviceWorker" in navigator) || !window.caches) return;
  try {
    await navigator.serviceWorker.register("/sw.js");
    const assets = [...document.querySelectorAll("script[src], link[rel=stylesheet][href]")].map(
      (el) => el.getAttribute("src") || el.getAttribute("href"),
    );
    // and the web font files the page needed (the Arabic letters): loaded only once shown
    await document.fonts?.ready;
    const fonts = `${window.location.origin}/static/build/assets/`;
    for (const { name } of performance.getEntriesByType("resource")) {
      if (name.startsWith(fonts) && name.endsWith(".woff2")) assets.push(name);
    }
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(assets);
    const page = await fetch(window.location.pathname, { credentials: "same-origin" });
    if (!page.ok) return;
    const who = encodeURIComponent(String(person));
    await cache.put(`${window.location.pathname}?person=${who}`, page);
    await cache.put(PERSON_KEY, new Response(who));
    document.documentElement.dataset.offlineReady = "true";
  } catch (_) {
    // not a secure context, or storage is full: the plan still works while online
  }
}

// What the server no longer gives this person, this device no longer keeps for them: the
// page's offline copy goes (LiveDocument clears the document's own copy). Without it, a
// reload without a connection shows "no connection", not what the person may no longer see.
export async function forgetOffline(person) {
  if (!window.caches) return;
  try {
    const cache = await caches.open(SHELL_CACHE);
    const who = encodeURIComponent(String(person));
    await cache.delete(`${window.location.pathname}?person=${who}`);
  } catch (_) {
    // storage not available: nothing was kept
  }
}

// "Forget this device": the server has ended the session and sent Clear-Site-Data; this is
// the same for browsers that ignore that header (plain http on a LAN).
export async function forgetDevice() {
  const jobs = [];
  if (window.indexedDB?.databases) {
    const databases = await indexedDB.databases();
    for (const { name } of databases) {
      if (name?.startsWith(LOCAL_PREFIX)) {
        jobs.push(
          new Promise((resolve) => {
            const request = indexedDB.deleteDatabase(name);
            request.onsuccess = request.onerror = request.onblocked = resolve;
          }),
        );
      }
    }
  }
  if (window.caches) jobs.push(caches.delete(SHELL_CACHE));
  if (navigator.serviceWorker) {
    const registrations = await navigator.serviceWorker.getRegistrations();
    jobs.push(...registrations.map((r) => r.unregister()));
  }
  await Promise.all(jobs);
  document.documentElement.dataset.forgotten = "true";
}

const forgetting = document.querySelector("[data-forget-device]");
if (forgetting) forgetDevice();
