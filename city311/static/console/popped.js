// Between calls: the caller's card pops the moment the phone system says this call taker
// answered. The page holds a server-sent event stream (console.calls.call_stream); its
// "call" event fetches the caller's section and swaps it in, without a reload. While the
// stream is open the 2-second poll (#popped, htmx) is held back; when the browser has no
// EventSource, or the server has no place for another stream (a 204), the poll goes on.
(function () {
  "use strict";
  var poll = document.getElementById("popped");
  if (!poll || !window.EventSource) return;
  var live = false;
  poll.addEventListener("htmx:beforeRequest", function (event) {
    if (live) event.preventDefault();
  });
  var source = new EventSource(poll.dataset.stream);
  source.onopen = function () { live = true; };
  // A dropped stream reconnects by itself; meanwhile, and if it gives up, the poll asks.
  source.onerror = function () { live = false; };
  source.addEventListener("call", function () {
    source.close();
    live = false;
    if (!document.getElementById("popped") || !window.htmx) return;
    window.htmx.ajax("GET", poll.dataset.card, { target: "#caller", swap: "outerHTML" });
  });
})();
