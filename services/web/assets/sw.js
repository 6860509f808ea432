// The desk console's service worker (scope /desk/). Reserved for the offline desk;
// until that lands it only passes requests through, so the console never serves stale pages.
"use strict";
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
