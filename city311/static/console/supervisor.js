// The supervisor's live view: today's figures are asked for again the moment a contact
// anywhere starts, is answered, wrapped up or ends, without reloading the page.
//
// The page holds a server-sent event stream (console.calls.supervisor_stream), opened with
// the version of the contact log its figures were read at (#figures [data-version]); its
// "contacts" event asks #figures again (htmx, "city311:refresh"), and the new figures bring
// their own version for the next stream. Only while the stream is not connected does the
// page ask every 30 seconds: the server refused a stream (a 204: no place for another), the
// stream broke, or the browser has no EventSource. After each of those asks the page tries
// the stream again, so a place freed later is taken.
(function () {
  "use strict";
  var POLL_MS = 30000;
  var figures = document.getElementById("figures");
  if (!figures || !window.htmx) return;
  var source = null;
  var timer = null;

  function refresh() { window.htmx.trigger(figures, "city311:refresh"); }
  function startPolling() { if (timer === null) timer = window.setInterval(refresh, POLL_MS); }
  function stopPolling() { window.clearInterval(timer); timer = null; }
  function stopListening() { if (source !== null) { source.close(); source = null; } }
  function version() {
    var marker = figures.querySelector("[data-version]");
    return marker ? marker.dataset.version : "";
  }

  function listen() {
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(figures.dataset.stream + "?since=" + encodeURIComponent(version()));
    source.addEventListener("open", stopPolling);
    source.addEventListener("error", startPolling);
    source.addEventListener("contacts", function () {
      stopListening();
      refresh();
    });
  }

  figures.addEventListener("htmx:afterRequest", function () {
    // New figures (or none, after a failed ask): listen from their version. A stream the
    // server refused or that broke for good (closed) is tried again.
    if (source !== null && source.readyState === 2) stopListening();
    if (source === null) listen();
  });

  window.addEventListener("pagehide", function () { stopListening(); stopPolling(); });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && source === null) listen();
  });
  listen();
})();
