// The desk console's improvements; every form works without this file.
"use strict";

// A submit button is disabled once pressed, so an impatient second press does not
// even leave the browser (the Idempotency-Key makes it harmless anyway).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && !event.defaultPrevented) {
    setTimeout(() => { button.disabled = true; }, 0);
  }
});

// What only script can do appears with it; what script replaces goes away.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
for (const element of document.querySelectorAll("[data-no-script]")) {
  element.hidden = true;
}

function csrfToken(form) {
  return form?.querySelector("input[name=csrf]")?.value ?? "";
}

// The citizen's earlier petitions, shown as soon as the national id is typed, so a
// repeat is added to the open case instead of becoming a new letter.
const lookup = document.querySelector("[data-lookup]");
const nationalId = document.getElementById("national_id");
// Persian and Arabic-Indic digits count as digits, as the server reads them
function digitsOf(text) {
  return text
    .replace(/[۰-۹]/g, (d) => String("۰۱۲۳۴۵۶۷۸۹".indexOf(d)))
    .replace(/[٠-٩]/g, (d) => String("٠١٢٣٤٥٦٧٨٩".indexOf(d)))
    .replace(/\D/g, "");
}
if (lookup && nationalId) {
  let asked = "";
  const ask = async () => {
    const digits = digitsOf(nationalId.value);
    if (digits.length < 8 || digits === asked) return;
    asked = digits;
    const body = new URLSearchParams({ csrf: csrfToken(nationalId.form), national_id: nationalId.value });
    try {
      const response = await fetch(lookup.dataset.lookup, { method: "POST", body });
      if (response.ok) lookup.innerHTML = await response.text();
    } catch {
      // offline: the operator registers the walk-in anyway; routing still merges duplicates
    }
  };
  nationalId.addEventListener("change", ask);
  nationalId.addEventListener("input", () => {
    if (digitsOf(nationalId.value).length === 10) ask();
  });
}

// The event's counter, refreshed while the page is open.
const counter = document.querySelector("[data-counter]");
if (counter) {
  setInterval(async () => {
    if (document.hidden || !navigator.onLine) return;
    try {
      const response = await fetch(counter.dataset.counter);
      if (response.ok) counter.innerHTML = await response.text();
    } catch {
      // the next tick tries again
    }
  }, 15000);
}
