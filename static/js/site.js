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
