// Small progressive enhancements; every page works without them.
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
