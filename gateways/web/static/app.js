// alertfold's page: forms that answer in place, live updates, the kind picker, the time slider.
// Everything works without this file; it only saves reloads.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
const notice = (text) => { const n = document.getElementById("notice"); if (n) n.textContent = text; };

// Forms marked data-inline are posted in the background; the answer is said where the form is.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-inline")) return;
  event.preventDefault();
  const button = event.submitter;
  if (button) button.disabled = true;
  const body = new URLSearchParams(new FormData(form, button));
  let message;
  try {
    const answer = await fetch(form.action, {
      method: "POST",
      body,
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf() },
      credentials: "same-origin",
    });
    const data = await answer.json().catch(() => ({}));
    message = data.message || data.error || `${answer.status} ${answer.statusText}`;
  } catch (error) {
    message = `Not sent: ${error}`;
  } finally {
    if (button) button.disabled = false;
  }
  const output = form.querySelector("output");
  if (output) output.textContent = message; else notice(message);
  form.closest("details")?.removeAttribute("open");
  refreshSoon(0);
});

// Live updates: the server says which issues changed; the page re-reads its live regions.
let timer = null;
let last = 0;
function refreshSoon(delay = 400) {
  if (timer) return;
  const wait = Math.max(delay, 1000 - (Date.now() - last));
  timer = setTimeout(refresh, wait);
}

async function refresh() {
  timer = null;
  const focused = document.activeElement;
  const typing = focused && focused.closest("[data-live-region]") && focused.matches("input, select, textarea");
  if (typing) { focused.addEventListener("blur", () => refreshSoon(0), { once: true }); return; }
  last = Date.now();
  const answer = await fetch(location.href, { headers: { "X-Requested-With": "live" }, credentials: "same-origin" });
  if (!answer.ok) return;
  const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
  for (const region of document.querySelectorAll("[data-live-region]")) {
    const name = region.getAttribute("data-live-region");
    const replacement = fresh.querySelector(`[data-live-region="${name}"]`);
    if (!replacement) continue;
    for (const open of region.querySelectorAll("details[open][id]")) {
      replacement.querySelector(`#${CSS.escape(open.id)}`)?.setAttribute("open", "");
    }
    const keep = region.contains(focused) ? focusPlace(focused) : null;
    region.replaceWith(replacement);
    if (keep) refocus(keep);
  }
  catchUp();
}

// Where the keyboard was, so a refresh does not throw it back to the top of the page: the
// nearest element with an id, and the control's name; the same control if it is still
// there, else the first control of that element.
const CONTROLS = "a[href], button, input, select, textarea, summary";
function focusPlace(element) {
  const holder = element.closest("[id]");
  const name = element.getAttribute("aria-label") || element.textContent.trim();
  return holder ? { id: holder.id, name } : null;
}
function refocus({ id, name }) {
  const holder = document.getElementById(id);
  if (!holder) return;
  const controls = [...holder.querySelectorAll(CONTROLS)];
  const same = controls.find((c) => (c.getAttribute("aria-label") || c.textContent.trim()) === name);
  (same || controls[0] || holder).focus();
}

// The timeline comes from the audit store, which may record an event a moment after the
// view shows it: while it is behind, look again a few times.
let lookAgain = 10;
function catchUp() {
  if (document.querySelector("[data-behind]") && lookAgain-- > 0) refreshSoon(1500);
}

const live = document.body.dataset.live;
catchUp();
if (live && window.EventSource) {
  const source = new EventSource("/ui/events");
  source.addEventListener("issues", (event) => {
    const ids = JSON.parse(event.data).ids || [];
    if (live === "*" || ids.includes("*") || ids.includes(live)) refreshSoon();
  });
}

// The kind picker shows the fields of the kind chosen.
function showKind() {
  const chosen = document.querySelector('input[name="kind"]:checked')?.value;
  for (const fields of document.querySelectorAll("fieldset.kind-fields")) {
    fields.hidden = fields.dataset.kind !== chosen;
  }
}
document.addEventListener("change", (event) => {
  if (event.target.matches('input[name="kind"]')) showKind();
});
showKind();

// The time slider: the version's moment and event as it moves, the version shown on release.
const slider = document.getElementById("version");
if (slider) {
  const say = () => {
    document.getElementById("version-shown").textContent = slider.value;
    const option = document.querySelector(`#versions option[value="${slider.value}"]`);
    if (option) document.getElementById("version-what").textContent = option.label;
  };
  slider.addEventListener("input", say);
  slider.addEventListener("change", () => slider.form.submit());
}
