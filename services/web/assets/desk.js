// The desk console's small improvements; every form works without this file.
// A submit button is disabled once pressed, so an impatient second press does not
// even leave the browser (the Idempotency-Key would make it harmless anyway).
"use strict";
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && !event.defaultPrevented) {
    setTimeout(() => { button.disabled = true; }, 0);
  }
});

// The slip's print button needs script, so it only appears with it.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
