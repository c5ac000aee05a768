// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Search filters fold behind a "Filters" button on phones, so the first results show on the first screen.
  // The filters stay open when they hold an error the visitor has to see, and on any wider screen.
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector(".filters-toggle");
    var filters = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!filters) return;
    var phone = window.matchMedia("(max-width: 760px)");
    function show(open) {
      toggle.setAttribute("aria-expanded", String(open));
      filters.hidden = !open;
    }
    toggle.hidden = false;
    if (phone.matches && !filters.classList.contains("has-errors")) show(false);
    toggle.addEventListener("click", function () { show(filters.hidden); });
    phone.addEventListener("change", function (event) { if (!event.matches) show(true); });
  });
})();

(function () {
  "use strict";
  var root = document.documentElement;
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    zone = null;
  }

  // Visitors see times in the browser's zone: the server reads this cookie (marketplace/timezones.py).
  if (zone) {
    var hasCookie = document.cookie.split("; ").some(function (c) { return c.indexOf("tz=") === 0; });
    if (!hasCookie) {
      // IANA names are cookie-safe (letters, "/", "_", "-", "+"): stored as is, the server reads them as is.
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  }

  // First visit: the server did not know the zone, so the inline script in base.html hid the parts of the
  // page that show times ([data-zone-region]) before they were painted. Ask for the same page again, now
  // with the cookie, and put those parts in place: the visitor only ever sees times in their own zone, with
  // no reload. If that fails, show what we have (UTC, named as such, with the zone picker). See
  // docs/decisions.md ("Time zone on the first visit").
  function showZoneRegions() {
    if (!root.classList.contains("zone-pending")) return;  // the fetch answered after the time-out, or twice
    root.classList.remove("zone-pending");
    var regions = document.querySelectorAll("[data-zone-region]");
    for (var i = 0; i < regions.length; i++) regions[i].removeAttribute("aria-busy");
    enhanceZonePickers();
  }

  function fillZoneRegions() {
    if (!root.classList.contains("zone-pending")) return;
    var regions = document.querySelectorAll("[data-zone-region][id]");
    if (!regions.length || !window.fetch || !window.DOMParser) return showZoneRegions();
    for (var i = 0; i < regions.length; i++) regions[i].setAttribute("aria-busy", "true");
    var timer = setTimeout(showZoneRegions, 4000);
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Zone-Detect": "1" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        // Too late (the page was shown as it came after the time-out): never change times being read.
        if (!root.classList.contains("zone-pending")) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        for (var j = 0; j < regions.length; j++) {
          var replacement = fresh.getElementById(regions[j].id);
          if (replacement && regions[j].parentNode) {
            regions[j].parentNode.replaceChild(document.importNode(replacement, true), regions[j]);
          }
        }
      })
      .catch(function () { /* keep the page as it came: UTC, named, with the picker */ })
      .then(function () {
        clearTimeout(timer);
        showZoneRegions();
      });
  }

  // Zone pickers (marketplace.forms.TimezoneSelect): the browser's zone first, and a search box that filters
  // the ~420 zones by city, country or old name ("Calcutta" finds Kolkata). Without this script the plain
  // <select> still works, and typing a city's first letters on it picks the city.
  function findZoneOption(select, name) {
    if (!name) return null;
    for (var i = 0; i < select.options.length; i++) {
      var option = select.options[i];
      var aka = (option.getAttribute("data-aka") || "").split(" ");
      if (option.value === name || aka.indexOf(name) !== -1) return option;
    }
    return null;
  }

  function normalise(text) {
    // "são paulo" finds "Sao Paulo", "new_york" finds "New York".
    return text.toLowerCase().replace(/_/g, " ").normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }

  function enhanceZonePicker(select) {
    if (select.hasAttribute("data-enhanced")) return;
    select.setAttribute("data-enhanced", "");

    var detected = findZoneOption(select, zone);
    if (detected) {
      var group = document.createElement("optgroup");
      group.label = "Detected from your browser";
      var copy = detected.cloneNode(true);
      copy.selected = false;
      copy.removeAttribute("selected");
      copy.setAttribute("data-detected", "");
      group.appendChild(copy);
      var first = select.querySelector("optgroup");
      select.insertBefore(group, first);
      // An unchosen zone (sign-up) starts at the browser's.
      if (!select.value) copy.selected = true;
    }

    var searchId = (select.id || "zone") + "-search";
    var wrapper = document.createElement("div");
    wrapper.className = "zone-search";
    var label = document.createElement("label");
    label.htmlFor = searchId;
    label.textContent = "Find a city or country";
    var input = document.createElement("input");
    input.type = "search";
    input.id = searchId;
    input.autocomplete = "off";
    input.setAttribute("aria-controls", select.id);
    input.setAttribute("data-zone-search", "");
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrapper.appendChild(label);
    wrapper.appendChild(input);
    wrapper.appendChild(status);
    select.parentNode.insertBefore(wrapper, select);

    var options = Array.prototype.map.call(select.options, function (option) {
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
      var text = [option.textContent, option.value, option.getAttribute("data-aka") || "", group].join(" ");
      return { option: option, text: normalise(text) };
    });

    input.addEventListener("input", function () {
      var words = normalise(input.value).split(/\s+/).filter(Boolean);
      var firstMatch = null;
      var count = 0;
      options.forEach(function (entry) {
        var match = words.every(function (word) { return entry.text.indexOf(word) !== -1; });
        entry.option.hidden = !match;
        if (match && entry.option.value) {
          count += 1;
          if (!firstMatch) firstMatch = entry.option;
        }
      });
      var groups = select.querySelectorAll("optgroup");
      for (var g = 0; g < groups.length; g++) {
        groups[g].hidden = !Array.prototype.some.call(groups[g].children, function (o) { return !o.hidden; });
      }
      // The select shows the best match at once: type "tokyo", and Tokyo is chosen.
      var current = select.options[select.selectedIndex];
      if (words.length && firstMatch && (!current || current.hidden)) {
        firstMatch.selected = true;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      status.textContent = words.length
        ? (count ? count + (count === 1 ? " zone matches" : " zones match") + (firstMatch ? "; " + firstMatch.textContent + " chosen." : "")
          : "No zone matches. Try a bigger city nearby, or the country.")
        : "";
    });
  }

  function enhanceZonePickers() {
    var selects = document.querySelectorAll("select[data-zone-picker]");
    var pending = root.classList.contains("zone-pending");
    for (var i = 0; i < selects.length; i++) {
      // A picker in a part still waiting for the zone is about to be replaced: enhance the new one instead.
      if (pending && selects[i].closest("[data-zone-region]")) continue;
      enhanceZonePicker(selects[i]);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhanceZonePickers();
    fillZoneRegions();
  });
})();

// Phones show the provider dashboard's menu as one sideways-scrolling row: start it at the current page.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var current = document.querySelector('.subnav [aria-current="page"]');
  if (!current) return;
  var row = current.closest("ul");
  if (row.scrollWidth <= row.clientWidth) return;
  var offset = current.getBoundingClientRect().left - row.getBoundingClientRect().left;
  row.scrollLeft += offset - 48; // the end of the item before shows: there is more that way too
});
// A "Print" button where a page is meant for paper (the receipt); without JS the browser's own print works.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("[data-print]")) {
      window.print();
    }
  });
})();
