// The desk console's service worker (scope /desk/): Friday-prayer crowds saturate the
// mobile network, so the walk-in page and its assets must load without it. Pages come
// from the network when it answers (and are kept for later), from the cache when it
// does not; hashed assets never change, so the cache answers them first. Submissions
// are not handled here: the page queues them itself (desk.js) with their Idempotency-Key.
"use strict";
const CACHE = "pasokh-desk-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function fromCacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function fromNetworkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // only the console's own pages, never a redirect to the provider's sign-in
    if (response.ok && !response.redirected) await cache.put(request, response.clone());
    return response;
  } catch {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    return new Response(
      '<!doctype html><html lang="fa" dir="rtl"><meta charset="utf-8"><title>بدون شبکه</title>' +
        "<p>ارتباط با شبکه قطع است و این صفحه پیش‌تر باز نشده بود. صفحهٔ ثبت مراجعه را باز کنید.</p></html>",
      { status: 503, headers: { "content-type": "text/html; charset=utf-8" } },
    );
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(fromCacheFirst(request));
  } else if (request.mode === "navigate" && url.pathname.startsWith("/desk/events/")) {
    event.respondWith(fromNetworkFirst(request));
  }
});
