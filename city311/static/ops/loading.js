// The loading status page follows the load by itself: every 10 seconds, while something
// loads, its figures are read again and put in place. Not a <meta http-equiv="refresh">: a page
// that reloads itself moves a screen reader back to its top and the keyboard focus with it
// (WCAG 2.2.1). Without JavaScript the page has a link to look again.
(function () {
  "use strict";
  var EVERY_MS = 10000;
  function look() {
    var shown = document.querySelector("[data-loading-status]");
    if (!shown || !shown.hasAttribute("data-busy")) { return; }
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html")
          .querySelector("[data-loading-status]");
        if (fresh) { shown.replaceWith(document.adoptNode(fresh)); }
      })
      .catch(function () { /* the server is restarting: look again later */ })
      .then(function () { window.setTimeout(look, EVERY_MS); });
  }
  window.setTimeout(look, EVERY_MS);
})();
