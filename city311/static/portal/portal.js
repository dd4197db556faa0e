// city311 portal: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";
  // Install the service worker that keeps an unfinished report when the connection drops.
  var me = document.currentScript;
  if ("serviceWorker" in navigator && me && me.dataset.sw) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(me.dataset.sw, { scope: "/" }).catch(function () {});
    });
  }
  // Move focus to an error summary so screen readers announce it (GOV.UK pattern).
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  });
})();
