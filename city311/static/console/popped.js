// Between calls: the caller's card comes the moment the phone system says this call taker
// answered, without reloading the page (nothing the call taker typed is lost).
//
// The page holds a server-sent event stream (console.calls.call_stream); its "call" event
// asks #popped (htmx, "city311:ask"), whose answer swaps the card in (console.calls.popped).
// Only while the stream is not connected does the page ask every 2 seconds: the server
// refused a stream (a 204: it has no place for another), the stream broke, or the browser
// has no EventSource. The stream ends every 20 s and the browser reopens it 0.5 s later;
// the first 2-second ask of a break is only made if it is still broken then.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var poll = document.getElementById("popped");
  if (!poll || !window.htmx) return;
  var source = null;
  var timer = null;

  function ask() { window.htmx.trigger(poll, "city311:ask"); }
  function startPolling() { if (timer === null) timer = window.setInterval(ask, POLL_MS); }
  function stopPolling() { window.clearInterval(timer); timer = null; }
  function stopListening() { if (source !== null) { source.close(); source = null; } }

  function listen() {
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(poll.dataset.stream);
    source.addEventListener("open", stopPolling);
    source.addEventListener("error", startPolling);
    source.addEventListener("call", function () {
      stopListening();
      ask();
    });
  }

  // The call taker is typing in a field: the focus stays there (the news is read out by
  // #call-news); otherwise it goes to the caller's card.
  function typing() {
    var el = document.activeElement;
    return !!el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT") && el.value !== "";
  }

  poll.addEventListener("htmx:afterRequest", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 200 && event.detail.successful) {
      // The card is in: nothing more to wait for.
      stopListening();
      stopPolling();
      var card = document.getElementById("card");
      var phone = document.getElementById("caller-phone");
      if (phone && !phone.value && card && card.dataset.phone) phone.value = card.dataset.phone;
      var heading = document.getElementById("card-heading") || card;
      if (heading && !typing()) heading.focus();
      poll.remove();
    } else if (source === null && timer === null) {
      // The stream said "call" but none is in hand now (hung up meanwhile): listen again.
      listen();
    }
  });

  // Leaving the page (a search that starts a call): the stream is not needed meanwhile.
  window.addEventListener("pagehide", function () { stopListening(); stopPolling(); });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.body.contains(poll)) listen();
  });
  listen();
})();
