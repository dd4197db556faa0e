// The report flow: a send button pressed twice sends once (the server also files once).
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var button = e.target.querySelector("button[data-once]");
    if (!button) { return; }
    if (button.dataset.sent) { e.preventDefault(); return; }
    button.dataset.sent = "1";
    button.setAttribute("aria-disabled", "true");
  });
})();
