// Between calls: the caller's card comes the moment the phone system says this call taker
// answered, without reloading the page (nothing the call taker typed is lost).
//
// The page holds a server-sent event stream (console.calls.call_stream, through
// console/live.js); its "call" event asks #popped (htmx, "city311:ask"), whose answer swaps
// the card in (console.calls.popped). Only while the stream is not connected does the page ask
// every 2 seconds. The stream ends every 20 s and the browser reopens it 0.5 s later; the
// first 2-second ask of a break is only made if it is still broken then.
(function () {
  "use strict";
  var poll = document.getElementById("popped");
  if (!poll || !window.htmx || !window.City311Live) return;

  var live = window.City311Live({
    element: poll,
    stream: function () { return poll.dataset.stream; },
    event: "call",
    pollMs: 2000,
    ask: function () { window.htmx.trigger(poll, "city311:ask"); },
  });

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
      live.stop();
      var card = document.getElementById("card");
      var phone = document.getElementById("caller-phone");
      if (phone && !phone.value && card && card.dataset.phone) phone.value = card.dataset.phone;
      var heading = document.getElementById("card-heading") || card;
      if (heading && !typing()) heading.focus();
      poll.remove();
    } else if (live.idle()) {
      // The stream said "call" but none is in hand now (hung up meanwhile): listen again.
      live.listen();
    }
  });

  live.listen();
})();
