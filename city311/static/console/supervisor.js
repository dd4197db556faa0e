// The supervisor's live view: today's figures are asked for again the moment a contact
// anywhere starts, is answered, wrapped up or ends, without reloading the page.
//
// The page holds a server-sent event stream (console.calls.supervisor_stream, through
// console/live.js), opened with the version of the contact log its figures were read at
// (#figures [data-version]); its "contacts" event asks #figures again (htmx,
// "city311:refresh"), and the new figures bring their own version for the next stream. Only
// while the stream is not connected does the page ask every 30 seconds. After each ask the
// page tries the stream again, so a place freed later is taken.
(function () {
  "use strict";
  var figures = document.getElementById("figures");
  if (!figures || !window.htmx || !window.City311Live) return;

  function version() {
    var marker = figures.querySelector("[data-version]");
    return marker ? marker.dataset.version : "";
  }

  var live = window.City311Live({
    element: figures,
    stream: function () { return figures.dataset.stream + "?since=" + encodeURIComponent(version()); },
    event: "contacts",
    pollMs: 30000,
    ask: function () { window.htmx.trigger(figures, "city311:refresh"); },
  });

  // New figures (or none, after a failed ask): listen from their version.
  figures.addEventListener("htmx:afterRequest", live.again);
  live.listen();
})();
