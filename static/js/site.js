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
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    zone = null;
  }
  if (!zone) return;

  // Visitors see times in the browser's zone: the server reads this cookie (marketplace/timezones.py).
  var hasCookie = document.cookie.split("; ").some(function (c) { return c.indexOf("tz=") === 0; });
  if (!hasCookie) {
    // IANA names are cookie-safe (letters, "/", "_", "-", "+"): stored as is, the server reads them as is.
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  }

  // New accounts start in the browser's zone; the profile page changes it later.
  document.addEventListener("DOMContentLoaded", function () {
    var fields = document.querySelectorAll('input[type=hidden][name$="timezone"]');
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].value) fields[i].value = zone;
    }
  });
})();
