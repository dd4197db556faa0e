// city311 portal service worker (being built: issue 6).
self.addEventListener("install", function () { self.skipWaiting(); });
