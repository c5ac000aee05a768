// Weekly hours page: an "Add another range" button, so a provider never runs out of empty rows.
// Without JavaScript the page still works: it always offers three empty rows.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-add-rule]");
    var template = document.querySelector("template[data-empty-rule]");
    var rows = document.querySelector("[data-rules]");
    var total = document.querySelector('input[name="rules-TOTAL_FORMS"]');
    if (!button || !template || !rows || !total) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var added = rows.lastElementChild.querySelector("select, input");
      if (added) added.focus();
    });
  });
})();
