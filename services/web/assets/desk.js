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

// A live region refreshed in place (HQ's view of the desks open now): the page works
// without it, refreshing itself every ten seconds.
const refreshed = document.querySelector("[data-refresh]");
if (refreshed) {
  const every = Number(refreshed.dataset.interval) || 5000;
  const tick = async () => {
    if (!document.hidden && navigator.onLine) {
      try {
        const response = await fetch(refreshed.dataset.refresh);
        if (response.ok) refreshed.innerHTML = await response.text();
      } catch {
        // the next tick tries again
      }
    }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

// The offline desk. The walk-in page works without the network: the service worker
// serves it, a walk-in sent while offline waits in IndexedDB with its own
// Idempotency-Key, the banner says how many wait, and they are sent when the network
// returns. Each is removed only once intake's slip came back, so a send that is cut
// off is sent again, and intake's idempotency makes the second send the same petition.
const walkInForm = document.querySelector("form[data-offline]");
const banner = document.getElementById("offline-banner");
const QUEUE_DB = "pasokh-desk";
const QUEUE = "walk-ins";

function persian(n) {
  return String(n).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[Number(d)]);
}

function openQueue() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(QUEUE_DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(QUEUE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function inQueue(mode, action) {
  const db = await openQueue();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(QUEUE, mode);
    const result = action(transaction.objectStore(QUEUE));
    transaction.oncomplete = () => resolve(result?.result);
    transaction.onerror = () => reject(transaction.error);
  });
}

const queued = () => inQueue("readonly", (store) => store.getAll());

async function showQueue(sentNow = 0) {
  if (!banner) return;
  const waiting = (await queued()).length;
  if (waiting > 0) {
    banner.textContent = navigator.onLine
      ? `${persian(waiting)} مراجعه در صف ارسال است و اکنون فرستاده می‌شود.`
      : `ارتباط با شبکه قطع است؛ ${persian(waiting)} مراجعه در صف ارسال است و با وصل شدن شبکه فرستاده می‌شود.`;
    banner.hidden = false;
  } else if (sentNow > 0) {
    banner.textContent = `${persian(sentNow)} مراجعهٔ در صف فرستاده و ثبت شد.`;
    banner.hidden = false;
  } else if (!navigator.onLine) {
    banner.textContent = "ارتباط با شبکه قطع است؛ مراجعه‌ها در صف می‌مانند و بعد فرستاده می‌شوند.";
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

let sending = false;
async function sendQueue() {
  if (sending || !navigator.onLine) return;
  sending = true;
  let sent = 0;
  try {
    for (const item of await queued()) {
      let response;
      try {
        response = await fetch(item.action, { method: "POST", body: new URLSearchParams(item.fields) });
      } catch {
        break; // the network went again: the rest wait
      }
      // a slip means intake holds the petition; anything else (an expired session, a refusal) stays queued
      if (response.ok && new URL(response.url).pathname.startsWith("/desk/slips/")) {
        await inQueue("readwrite", (store) => store.delete(item.key));
        sent += 1;
      } else if (response.status === 400) {
        await inQueue("readwrite", (store) => store.delete(item.key));
        const mistaken = document.createElement("p");
        mistaken.textContent = `مراجعهٔ کد ملی ${item.fields.national_id} پذیرفته نشد؛ آن را دوباره و درست ثبت کنید.`;
        banner?.after(mistaken);
      } else {
        break;
      }
    }
  } finally {
    sending = false;
    await showQueue(sent);
  }
}

if (walkInForm && "indexedDB" in window) {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/desk/sw.js", { scope: "/desk/" }).catch(() => {});
  }
  walkInForm.addEventListener("submit", async (event) => {
    if (navigator.onLine || event.submitter?.value === "lookup") return;
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(walkInForm));
    // getAttribute: the form's control named "action" (the look-up button) shadows form.action
    const action = walkInForm.getAttribute("action");
    await inQueue("readwrite", (store) => store.put({ key: fields.idempotency_key, action, fields }));
    // ready for the next citizen: a fresh form and a fresh key
    walkInForm.reset();
    walkInForm.querySelector("input[name=idempotency_key]").value = crypto.randomUUID();
    if (event.submitter) event.submitter.disabled = false;
    document.getElementById("national_id")?.focus();
    await showQueue();
  });
  window.addEventListener("online", sendQueue);
  window.addEventListener("offline", () => showQueue());
  showQueue().then(sendQueue);
}
