// Between calls: the caller's card comes the moment the phone system says this call taker
// answered. The page holds a server-sent event stream (console.calls.call_stream); its
// "call" event reloads the page, which shows the call in hand with the caller's card.
// Without EventSource, or when the server has no place for another stream (a 204), the
// 2-second poll (#popped, htmx) brings the call instead.
(function () {
  "use strict";
  var poll = document.getElementById("popped");
  if (!poll || !window.EventSource) return;
  var source = new EventSource(poll.dataset.stream);
  // Leaving the page (a search that starts a call): the stream must not reload it meanwhile.
  window.addEventListener("beforeunload", function () { source.close(); });
  source.addEventListener("call", function () {
    source.close();
    window.location.reload();
  });
})();
