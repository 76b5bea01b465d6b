// The family's page, when scripts run (it works without: a form and a link).
// - Quick exit: the page is replaced (location.replace), so Back does not come back to it.
// - The answer is sent without loading a second page: one history entry, and the quick exit
//   leaves none.
"use strict";

const exit = document.getElementById("exit");
exit.addEventListener("click", (event) => {
  event.preventDefault();
  document.title = "";
  document.body.replaceChildren();
  window.location.replace(exit.href);
});

const form = document.getElementById("answer");
if (form) {
  const problem = document.getElementById("problem");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[name=answer]:checked");
    if (!chosen) {
      problem.textContent = form.dataset.choose;
      form.querySelector("input[name=answer]").focus();
      return;
    }
    form.querySelector("button").disabled = true;
    try {
      const response = await fetch(window.location.href, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const main = page.getElementById("main");
      if (!main) throw new Error("no page");
      document.getElementById("main").replaceWith(main);
      document.title = page.title;
      main.focus();
    } catch {
      problem.textContent = form.dataset.error;
      form.querySelector("button").disabled = false;
    }
  });
}
