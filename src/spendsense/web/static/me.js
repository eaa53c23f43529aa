// SpendSense customer page: send a card's vote or calculation in the background and swap in
// the server's fragment, so the page does not jump. Without this script every form still
// works (it posts and comes back to the card). No dependencies, no build step.
(function () {
  "use strict";
  function send(form, submitter) {
    var data = new FormData(form, submitter);
    var method = (form.getAttribute("method") || "get").toUpperCase();
    var url = form.getAttribute("action");
    var init = { method: method, headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" };
    if (method === "GET") {
      url += "?" + new URLSearchParams(data).toString();
    } else {
      init.body = new URLSearchParams(data);
    }
    return fetch(url, init).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-fetch")) { return; }
    event.preventDefault();
    var submitter = event.submitter || null;
    var pressed = submitter ? submitter.value : null;
    var focusName = submitter ? submitter.getAttribute("name") : null;
    send(form, submitter).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var fresh = holder.firstElementChild;
      if (!fresh) { return; }
      form.replaceWith(fresh);
      if (focusName && pressed !== null) {
        var again = fresh.querySelector('button[name="' + focusName + '"][value="' + pressed + '"]');
        if (again) { again.focus(); }
      }
    }).catch(function () {
      form.removeAttribute("data-fetch");  // fall back to an ordinary submit
      if (submitter) { form.requestSubmit(submitter); } else { form.submit(); }
    });
  });
})();
