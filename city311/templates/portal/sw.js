{% load static %}// city311 portal service worker.
// - Keeps the portal's shell (styles, scripts, icons, an offline page) so pages still open
//   something useful on a dead connection.
// - Pages: network first; when the network is down, the offline page.
// - A report sent while the network is down (a POST to /report/...) is kept in IndexedDB and
//   sent again when the connection returns (Background Sync where there is one; otherwise when
//   a portal page loads or the browser says it is online again). The saved form carries its
//   csrfmiddlewaretoken and same-origin fetches carry the cookie, so the replay passes CSRF.
"use strict";

var VERSION = "{{ version }}";
var SHELL_CACHE = "city311-shell-" + VERSION;
var META_CACHE = "city311-meta";
var LANGUAGES = [{% for code in languages %}"{{ code }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
var OFFLINE = "{% url 'portal:offline' %}";
var SHELL = [
  "{% static 'vendor/uswds/css/uswds.min.css' %}",
  "{% static 'vendor/htmx/htmx.min.js' %}",
  "{% static 'portal/portal.css' %}",
  "{% static 'portal/portal.js' %}",
  "{% static 'portal/icon.svg' %}",
  "{% static 'portal/icon-192.png' %}",
  "{% static 'portal/icon-512.png' %}"
];
var DB_NAME = "city311";
var STORE = "outbox";
var SYNC_TAG = "city311-outbox";

function offlineUrl(lang, saved) {
  return OFFLINE + "?lang=" + lang + (saved ? "&saved=1" : "");
}

self.addEventListener("install", function (event) {
  var pages = [];
  LANGUAGES.forEach(function (lang) { pages.push(offlineUrl(lang, false), offlineUrl(lang, true)); });
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then(function (cache) { return cache.addAll(SHELL.concat(pages)); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (keys) {
        return Promise.all(keys.filter(function (k) {
          return k.indexOf("city311-shell-") === 0 && k !== SHELL_CACHE;
        }).map(function (k) { return caches.delete(k); }));
      })
      .then(function () { return self.clients.claim(); })
      .then(replay)
  );
});

// The outbox: IndexedDB, because the Cache API cannot hold POSTs.

function openDb() {
  return new Promise(function (resolve, reject) {
    var open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = function () { open.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true }); };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });
}

function withStore(mode, work) {
  return openDb().then(function (db) {
    return new Promise(function (resolve, reject) {
      var tx = db.transaction(STORE, mode);
      var result = work(tx.objectStore(STORE));
      tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : result); };
      tx.onerror = function () { db.close(); reject(tx.error); };
    });
  });
}

function keep(request) {
  return request.arrayBuffer().then(function (body) {
    return withStore("readwrite", function (store) {
      return store.add({
        url: request.url,
        body: body,
        contentType: request.headers.get("Content-Type") || "application/x-www-form-urlencoded",
        savedAt: Date.now()
      });
    });
  }).then(function () {
    if (self.registration.sync) {
      return self.registration.sync.register(SYNC_TAG).catch(function () {});
    }
  });
}

function language() {
  return caches.open(META_CACHE)
    .then(function (cache) { return cache.match("/__city311/lang"); })
    .then(function (r) { return r ? r.text() : LANGUAGES[0]; })
    .then(function (lang) { return LANGUAGES.indexOf(lang) >= 0 ? lang : LANGUAGES[0]; });
}

function offlinePage(saved) {
  return language().then(function (lang) {
    return caches.match(offlineUrl(lang, saved), { ignoreVary: true });
  }).then(function (page) {
    return page || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  });
}

var replaying = null;

// Send every kept report, oldest first; stop at the first network failure and try later.
function replay() {
  if (replaying) { return replaying; }
  replaying = withStore("readonly", function (store) { return store.getAll(); })
    .then(function (items) {
      return items.reduce(function (chain, item) {
        return chain.then(function () {
          return fetch(item.url, {
            method: "POST",
            body: item.body,
            headers: { "Content-Type": item.contentType },
            credentials: "same-origin",
            redirect: "follow"
          }).then(function (response) {
            return withStore("readwrite", function (store) { store.delete(item.id); }).then(function () {
              return tell({ type: "city311-sent", ok: response.ok, url: response.url });
            });
          });
        });
      }, Promise.resolve());
    })
    .catch(function () {})
    .then(function () { replaying = null; });
  return replaying;
}

function tell(message) {
  return self.clients.matchAll({ type: "window" }).then(function (clients) {
    clients.forEach(function (client) { client.postMessage(message); });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === SYNC_TAG) { event.waitUntil(replay()); }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "replay") {
    event.waitUntil(replay());
  } else if (data.type === "language" && LANGUAGES.indexOf(data.language) >= 0) {
    event.waitUntil(caches.open(META_CACHE).then(function (cache) {
      return cache.put("/__city311/lang", new Response(data.language));
    }));
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && url.pathname.indexOf("/report/") === 0) {
    var copy = request.clone();
    event.respondWith(
      fetch(request).catch(function () {
        return keep(copy).then(function () { return offlinePage(true); });
      })
    );
    return;
  }
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () { return offlinePage(false); }));
    return;
  }
  // The shell's files, cache first: their names (or the worker's version) change with them.
  if (SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(
      caches.match(request).then(function (hit) { return hit || fetch(request); })
    );
  }
});
