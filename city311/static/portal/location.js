// The location step, enhanced: address suggestions as you type, a map to drop or drag a pin,
// and "use my location". Without this file the address field alone works (geocoded on submit).
(function () {
  "use strict";
  var form = document.querySelector("[data-location-form]");
  var box = document.getElementById("map");
  if (!form || !box) { return; }
  var address = form.querySelector("input[name=address]");
  var lat = form.querySelector("input[name=lat]");
  var long = form.querySelector("input[name=long]");
  var list = document.getElementById("address-suggestions");
  var tools = form.querySelector("[data-map-tools]");
  var status = form.querySelector("[data-map-status]");
  var found = form.querySelector("[data-suggestions-status]");
  var data = box.dataset;
  var map = null, pin = null, timer = null;

  function say(text) { if (status) { status.textContent = text || ""; } }

  function getJSON(url, done) {
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) { done(body); } })
      .catch(function () {});
  }

  function setPoint(y, x, moveMap) {
    lat.value = y.toFixed(6);
    long.value = x.toFixed(6);
    if (!map) { return; }
    if (pin) { pin.setLatLng([y, x]); } else {
      pin = L.marker([y, x], { draggable: true, keyboard: true, title: data.label, icon: pinIcon() }).addTo(map);
      pin.on("dragend", function () { var p = pin.getLatLng(); pointChosen(p.lat, p.lng, false); });
    }
    if (moveMap) { map.setView([y, x], Math.max(map.getZoom(), 17)); }
  }

  // Leaflet's own pin, from the vendored images: its guess at their folder (from leaflet.css)
  // fails once the stylesheet's image names are hashed, and the pin was a broken image.
  function pinIcon() {
    return L.icon({
      iconUrl: data.icon, iconRetinaUrl: data.icon2x, shadowUrl: data.iconShadow,
      iconSize: [25, 41], iconAnchor: [12, 41], popupAnchor: [1, -34], tooltipAnchor: [16, -28],
      shadowSize: [41, 41]
    });
  }

  // A pin dropped or dragged: the address becomes the nearest known one, or none. Never the
  // text typed for another place, which the request would be filed under.
  function pointChosen(y, x, moveMap) {
    address.value = "";
    showSuggestions([]);
    setPoint(y, x, moveMap);
    var q = "?lat=" + encodeURIComponent(y) + "&long=" + encodeURIComponent(x);
    getJSON(data.reverse + q, function (body) {
      if (!body.in_city) { say(data.outside); return; }
      var near = body.nearest_address;
      if (near && near.distance_m <= 75) {
        address.value = near.address;
        say(data.near + " " + near.address);
      } else { say(""); }
    });
  }

  // Address suggestions: buttons under the field; choosing one sets the point too.
  function showSuggestions(items) {
    list.textContent = "";
    items.forEach(function (s) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = s.address;
      b.addEventListener("click", function () {
        address.value = s.address;
        list.hidden = true;
        setPoint(s.lat, s.long, true);
        address.focus();
      });
      li.appendChild(b);
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
    if (found) { found.textContent = items.length ? data.found : ""; }
  }

  address.addEventListener("input", function () {
    // A typed address replaces the pin: the server geocodes it.
    lat.value = ""; long.value = "";
    clearTimeout(timer);
    var q = address.value.trim();
    if (q.length < 3) { showSuggestions([]); return; }
    timer = setTimeout(function () {
      getJSON(data.autocomplete + "?q=" + encodeURIComponent(q), function (body) {
        if (address.value.trim() === q) { showSuggestions(body.suggestions || []); }
      });
    }, 200);
  });
  address.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { list.hidden = true; }
    if (e.key === "ArrowDown" && !list.hidden) {
      e.preventDefault();
      var first = list.querySelector("button");
      if (first) { first.focus(); }
    }
  });
  list.addEventListener("keydown", function (e) {
    var li = e.target.parentNode;
    if (e.key === "ArrowDown" && li.nextSibling) { e.preventDefault(); li.nextSibling.firstChild.focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (li.previousSibling ? li.previousSibling.firstChild : address).focus(); }
    if (e.key === "Escape") { list.hidden = true; address.focus(); }
  });

  if (tools && navigator.geolocation) {
    tools.hidden = false;
    tools.querySelector("[data-use-my-location]").addEventListener("click", function () {
      say(data.locating);
      navigator.geolocation.getCurrentPosition(
        function (p) { pointChosen(p.coords.latitude, p.coords.longitude, true); },
        function () { say(data.noLocation); },
        { enableHighAccuracy: true, timeout: 15000 }
      );
    });
  }

  function startMap() {
    if (!window.L) { return; }
    box.hidden = false;
    map = L.map(box, { zoomControl: true, attributionControl: !!data.tiles });
    box.setAttribute("aria-label", data.label);
    if (data.tiles) {
      L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
    } else if (window.City311Base) {
      // No tile server: close up, the city's own streets, house numbers and places.
      City311Base.draw(map, { url: data.around, zoomIn: data.zoomIn });
    }
    // The city's own view (its pack's `map`) until the city limits arrive.
    var centre = (data.center || "").split(",").map(parseFloat);
    if (centre.length === 2 && !isNaN(centre[0]) && !isNaN(centre[1])) {
      map.setView(centre, parseInt(data.startZoom || "11", 10));
    } else {
      map.setView([0, 0], 2);
    }
    // No tile server: a blank map with the city limits drawn on it needs no internet.
    getJSON(data.limits, function (geo) {
      var layer = L.geoJSON(geo, { interactive: false, style: { color: "#162e51", weight: 2, fillOpacity: 0.04 } }).addTo(map);
      var bounds = layer.getBounds();
      if (!lat.value && bounds.isValid()) { map.fitBounds(bounds); }
    });
    map.on("click", function (e) { pointChosen(e.latlng.lat, e.latlng.lng, false); });
    if (lat.value && long.value) { setPoint(parseFloat(lat.value), parseFloat(long.value), true); }
  }
  if (document.readyState === "complete") { startMap(); } else { window.addEventListener("load", startMap); }
})();
