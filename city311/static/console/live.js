// What the console's live pages share (popped.js, supervisor.js): a server-sent event stream
// that tells the page when to ask for its part again, and a fixed ask only while the stream is
// not connected: the server refused a stream (a 204: no place for another), the stream broke,
// or the browser has no EventSource. Loaded before the page's own script (both deferred).
//
//   var live = window.City311Live({
//     element: el,                        // the part asked for; nothing is done once it is gone
//     stream: function () { return url; }, // the stream's address, read at each (re)open
//     event: "call",                       // the stream's news: stop listening, then ask
//     pollMs: 2000,                        // how often to ask while the stream is not connected
//     ask: function () { ... },
//   });
//   live.listen();
//
// Leaving the page closes the stream and stops the asks; coming back to it (the browser's
// back-forward cache) opens the stream again while the element is still in the page.
window.City311Live = function (options) {
  "use strict";
  var source = null;
  var timer = null;

  function startPolling() { if (timer === null) timer = window.setInterval(options.ask, options.pollMs); }
  function stopPolling() { window.clearInterval(timer); timer = null; }
  function stopListening() { if (source !== null) { source.close(); source = null; } }
  function stop() { stopListening(); stopPolling(); }

  function listen() {
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(options.stream());
    source.addEventListener("open", stopPolling);
    source.addEventListener("error", startPolling);
    source.addEventListener(options.event, function () {
      stopListening();
      options.ask();
    });
  }

  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && source === null && document.body.contains(options.element)) listen();
  });

  return {
    listen: listen,
    stop: stop,
    // Neither listening nor asking: the stream's news was heard and its ask answered.
    idle: function () { return source === null && timer === null; },
    // A stream the server refused or that broke for good (closed) is given up, and a new one
    // opened unless one is still listening.
    again: function () {
      if (source !== null && source.readyState === 2) stopListening();
      if (source === null) listen();
    },
  };
};
