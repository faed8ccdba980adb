// renewals pages: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // The language switch submits itself on change (its button stays for keyboards and no-JS).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Notice status: rows still queued or rendering ask the page again until they are done.
  var pending = document.querySelectorAll("[data-notice-status='queued'], [data-notice-status='rendering']");
  if (pending.length) {
    var poll = function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var waiting = false;
          document.querySelectorAll("[data-notice-id]").forEach(function (row) {
            var next = fresh.querySelector("[data-notice-id='" + row.dataset.noticeId + "']");
            if (next && next.dataset.noticeStatus !== row.dataset.noticeStatus) {
              row.replaceWith(next);
            }
            var now = next || row;
            if (now.dataset.noticeStatus === "queued" || now.dataset.noticeStatus === "rendering") { waiting = true; }
          });
          if (waiting) { window.setTimeout(poll, 1500); }
        });
    };
    window.setTimeout(poll, 1000);
  }
}());
