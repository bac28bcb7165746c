// The agreement PDF progress page: poll the JSON status and reload when it changes (no inline script: CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-pdf-status]");
  if (!box) { return; }
  var shown = box.getAttribute("data-pdf-status");
  if (shown !== "queued" && shown !== "running") { return; }
  var url = box.getAttribute("data-status-url");
  var delay = 1500;
  var tries = 0;

  function poll() {
    tries += 1;
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (data) {
        if (data && data.status !== shown) { window.location.reload(); return; }
        schedule();
      })
      .catch(schedule);
  }

  function schedule() {
    if (tries > 200) { return; }            // about ten minutes: stop; the page still offers a retry
    delay = Math.min(delay * 1.3, 5000);
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, delay);
}());
