// The citizen's form, improved: a chosen file's name, type, size and SHA-256 are
// sent as the petition's attachment metadata (the file itself is shown at the
// desk or sent later). Without this script the form simply has no attachment.
"use strict";
const chooser = document.querySelector("[data-attachment]");
if (chooser && window.crypto?.subtle) {
  chooser.closest("[hidden]")?.removeAttribute("hidden");
  const form = chooser.form;
  const set = (name, value) => { form.querySelector(`input[name=${name}]`).value = value; };
  chooser.addEventListener("change", async () => {
    const file = chooser.files?.[0];
    if (!file) {
      for (const name of ["attachment_name", "attachment_type", "attachment_size", "attachment_checksum"]) set(name, "");
      return;
    }
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
    set("attachment_name", file.name);
    set("attachment_type", file.type);
    set("attachment_size", String(file.size));
    set("attachment_checksum", "sha256:" + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
  });
}
