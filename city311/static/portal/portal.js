// city311 portal: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";
  var me = document.currentScript;
  var lang = document.documentElement.lang || "en";

  // The service worker keeps an unfinished report when the connection drops and sends it later.
  function worker(message) {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active) { reg.active.postMessage(message); }
    });
  }

  if ("serviceWorker" in navigator && me && me.dataset.sw) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(me.dataset.sw, { scope: "/" }).catch(function () {});
      worker({ type: "language", language: lang });
      // Reports kept while offline go out as soon as a page loads with a connection.
      if (navigator.onLine) { worker({ type: "replay" }); }
    });
    window.addEventListener("online", function () { worker({ type: "replay" }); });
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "city311-sent") { announceSent(data); }
    });
  }

  function announceSent(data) {
    var main = document.getElementById("main-content");
    if (!main) { return; }
    var box = document.createElement("div");
    box.className = "usa-alert usa-alert--success";
    box.setAttribute("role", "status");
    var body = document.createElement("div");
    body.className = "usa-alert__body";
    var p = document.createElement("p");
    p.className = "usa-alert__text";
    // Two languages, like the site; the server's catalog does not reach this script.
    var words = lang.indexOf("es") === 0
      ? { sent: "Se envió el reporte que estaba guardado en este teléfono. ",
          failed: "El reporte guardado en este teléfono llegó, pero hay que revisarlo. ",
          see: "Ver el resultado" }
      : { sent: "The report saved on this phone has been sent. ",
          failed: "The report saved on this phone arrived but needs another look. ",
          see: "See the result" };
    if (!data.ok) { box.className = "usa-alert usa-alert--warning"; }
    p.appendChild(document.createTextNode(data.ok ? words.sent : words.failed));
    if (data.url) {
      var a = document.createElement("a");
      a.href = data.url;
      a.textContent = words.see;
      p.appendChild(a);
    }
    body.appendChild(p);
    box.appendChild(body);
    box.dataset.sentReport = "";
    main.insertBefore(box, main.firstChild);
  }

  // Drafts: the report steps' answers are kept in this site's localStorage while typing, so a
  // reload or a dropped tab does not lose them. Never photos, never the CSRF token or honeypot.
  // localStorage belongs to this origin alone; drafts expire after a day.
  var DRAFT = "city311-draft:";
  var SENT = "city311-draft-sent:";
  var DAY = 24 * 3600 * 1000;
  var SKIP = { file: 1, hidden: 1, password: 1, submit: 1, button: 1, reset: 1, image: 1 };

  function draftForms() {
    return Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
      var action = new URL(form.action || location.href, location.href);
      return form.method.toLowerCase() === "post" && action.origin === location.origin &&
        action.pathname.indexOf("/report/") === 0 && !form.hasAttribute("data-no-draft");
    });
  }

  function keyOf(form) { return DRAFT + new URL(form.action || location.href, location.href).pathname; }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !SKIP[el.type] && el.name !== "website" && el.name !== "csrfmiddlewaretoken";
    });
  }

  function read(key) {
    try {
      var draft = JSON.parse(localStorage.getItem(key) || "null");
      if (draft && Date.now() - draft.at < DAY) { return draft; }
      localStorage.removeItem(key);
    } catch (e) { /* storage off or full: drafts are a nicety */ }
    return null;
  }

  function save(form) {
    var values = {};
    fields(form).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) { (values[el.name] = values[el.name] || []).push(el.value); }
        else if (!(el.name in values)) { values[el.name] = []; }
      } else if (el.multiple && el.options) {
        values[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
      } else {
        values[el.name] = el.value;
      }
    });
    try { localStorage.setItem(keyOf(form), JSON.stringify({ at: Date.now(), values: values })); } catch (e) { /* ignore */ }
  }

  function restore(form) {
    var draft = read(keyOf(form));
    if (!draft) { return; }
    // The page the server sent wins: restore only into a form that came back empty.
    var blank = fields(form).every(function (el) {
      if (el.type === "radio") { return !el.checked; }
      if (el.type === "checkbox" || el.tagName === "SELECT") { return true; }
      return !el.value;
    });
    if (!blank) { return; }
    fields(form).forEach(function (el) {
      var value = draft.values[el.name];
      if (value === undefined) { return; }
      if (el.type === "radio" || el.type === "checkbox") { el.checked = value.indexOf(el.value) >= 0; }
      else if (el.multiple && el.options) { Array.prototype.forEach.call(el.options, function (o) { o.selected = value.indexOf(o.value) >= 0; }); }
      else { el.value = value; }
    });
  }

  function clearSent() {
    // A report submitted from the last page went through unless this page shows its errors.
    var errors = document.querySelector("[data-error-summary]");
    try {
      Object.keys(sessionStorage).forEach(function (k) {
        if (k.indexOf(SENT) !== 0) { return; }
        var path = k.slice(SENT.length);
        if (!(errors && path === location.pathname)) { localStorage.removeItem(DRAFT + path); }
        sessionStorage.removeItem(k);
      });
    } catch (e) { /* ignore */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    clearSent();
    draftForms().forEach(function (form) {
      restore(form);
      var timer = null;
      form.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { save(form); }, 300);
      });
      form.addEventListener("change", function () { save(form); });
      form.addEventListener("submit", function () {
        save(form);
        try { sessionStorage.setItem(SENT + new URL(form.action || location.href, location.href).pathname, "1"); } catch (e) { /* ignore */ }
      });
    });
    // Move focus to an error summary so screen readers announce it (GOV.UK pattern).
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  });
})();
