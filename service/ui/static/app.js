// Mailhook web inbox: copy buttons, confirmations and the live inbox. Plain JavaScript, no
// build step; the pages work without it (except live updates and copying).
"use strict";

(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function flash(button, text) {
    var before = button.textContent;
    button.textContent = text;
    button.setAttribute("data-copied", "");
    setTimeout(function () {
      button.textContent = before;
      button.removeAttribute("data-copied");
    }, 1500);
  }

  function copyText(button, text) {
    if (!navigator.clipboard) {
      flash(button, "Copy failed");
      return Promise.resolve();
    }
    return navigator.clipboard.writeText(text).then(
      function () { flash(button, "Copied"); },
      function () { flash(button, "Copy failed"); }
    );
  }

  // The webhook URL carries a secret: it is fetched (POST, CSRF-checked, admins only) on click.
  function copyUrl(button) {
    return fetch(button.getAttribute("data-copy-url"), {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (body) {
      return copyText(button, body.url);
    }).catch(function () { flash(button, "Copy failed"); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-url]");
    if (!button) { return; }
    event.preventDefault();
    if (button.hasAttribute("data-copy")) {
      copyText(button, button.getAttribute("data-copy"));
    } else {
      copyUrl(button);
    }
  });

  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // Live inbox: the server says "newer mail is stored" (Server-Sent Events); we fetch the new
  // rows for the search on screen and put them on top.
  var list = document.getElementById("messages");
  if (!list || !list.hasAttribute("data-live") || !window.EventSource) { return; }
  var indicator = document.getElementById("live");
  var empty = document.getElementById("empty");
  var query = list.getAttribute("data-q") || "";
  var fetching = false;
  var again = false;

  function setState(state, text) {
    if (!indicator) { return; }
    indicator.setAttribute("data-state", state);
    indicator.textContent = text;
  }

  function newest() {
    var first = list.querySelector("li[data-id]");
    return first ? first.getAttribute("data-id") : "";
  }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    var url = "/ui/inbox/rows?q=" + encodeURIComponent(query) + (newest() ? "&after=" + newest() : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html; // our own server-rendered, autoescaped rows
        var rows = Array.prototype.slice.call(template.content.querySelectorAll("li[data-id]"));
        rows.forEach(function (row) {
          if (list.querySelector('li[data-id="' + row.getAttribute("data-id") + '"]')) {
            row.remove(); // already shown
          } else {
            row.classList.add("new");
          }
        });
        list.insertBefore(template.content, list.firstChild);
        if (empty && list.querySelector("li[data-id]")) { empty.hidden = true; }
      })
      .catch(function () { setState("error", "update failed; reload the page"); })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  var since = list.getAttribute("data-newest");
  var source = new EventSource("/ui/events" + (since ? "?since=" + since : ""));
  source.addEventListener("open", function () { setState("live", "live"); });
  source.addEventListener("stored", refresh);
  source.addEventListener("error", function () {
    setState(source.readyState === EventSource.CLOSED ? "error" : "connecting",
             source.readyState === EventSource.CLOSED ? "live updates stopped; reload the page" : "reconnecting…");
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
