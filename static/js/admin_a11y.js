// The back office's accessibility fixes that need the page's own scripts to
// have run (loaded by templates/admin/base_site.html; no inline script: CSP).
"use strict";
window.addEventListener("load", function () {
  // Django's two-box selector (SelectFilter2.js, run on "load" before this)
  // puts aria-label on a bare <span>, which ARIA forbids: it is an icon.
  document.querySelectorAll("span.search-label-icon[aria-label]").forEach(
    function (icon) {
      icon.setAttribute("role", "img");
    }
  );
});
