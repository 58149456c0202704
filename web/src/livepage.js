// Pages that follow the room (the coordinator's console, a follow-up meeting): each event of
// their stream (and each time the stream opens again, after a drop of the venue's Wi-Fi) makes
// them read their live parts ([data-live-part], each with an id) again from their own URL, so
// what they show is what the server shows this person now, with nothing missed while away.
// A field someone is typing in, or a box they ticked, keeps what they did; the keyboard stays
// where it was.

const FIELDS = "input, textarea, select";
const served = new WeakMap(); // part -> the HTML the server last gave it
const away = new Map(); // field -> what was typed into it while the server did not show it
let reading = false;
let again = false;

function key(field) {
  if (field.id) return `#${field.id}`;
  const action = field.form ? field.form.getAttribute("action") : "";
  const choice = field.type === "checkbox" || field.type === "radio" ? field.value : "";
  return `${action}|${field.name}|${choice}`;
}

function typedIn(field) {
  return { value: field.value, checked: field.checked };
}

function restore(field, was) {
  if (field.type === "checkbox" || field.type === "radio") field.checked = was.checked;
  else field.value = was.value;
  field.dataset.touched = "true";
}

function touched(event) {
  const field = event.target;
  if (field instanceof Element && field.matches(FIELDS) && field.closest("[data-live-part]")) {
    field.dataset.touched = "true";
  }
}

function swap(part, html) {
  const kept = new Map();
  for (const field of part.querySelectorAll(`${FIELDS}`)) {
    if (field.dataset.touched) kept.set(key(field), typedIn(field));
  }
  const active = document.activeElement;
  const focused = active && part.contains(active) && active.matches(FIELDS) ? key(active) : null;
  const selection =
    focused && typeof active.selectionStart === "number"
      ? [active.selectionStart, active.selectionEnd]
      : null;
  part.innerHTML = html;
  served.set(part, html);
  for (const field of part.querySelectorAll(FIELDS)) {
    const name = key(field);
    if (kept.has(name)) {
      restore(field, kept.get(name));
      kept.delete(name);
    } else if (away.has(name)) {
      restore(field, away.get(name));
      away.delete(name);
    }
    if (name === focused) {
      field.focus({ preventScroll: true });
      if (selection && typeof field.setSelectionRange === "function") {
        try {
          field.setSelectionRange(...selection);
        } catch (_) {
          // a field without a text selection
        }
      }
    }
  }
  for (const [name, was] of kept) away.set(name, was); // gone for now; back when it returns
}

async function read(page) {
  if (reading) {
    again = true;
    return;
  }
  reading = true;
  try {
    const response = await fetch(page.dataset.livePage, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { accept: "text/html" },
    });
    const url = new URL(response.url);
    if (!response.ok || url.pathname !== page.dataset.livePage) {
      // Signed out, or no longer theirs: the page itself says what is up.
      if (response.status < 500) window.location.assign(page.dataset.livePage);
      return;
    }
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const now = fresh.querySelector("[data-live-page]");
    if (!now || now.dataset.phase !== page.dataset.phase) {
      // Another phase: other controls altogether. (Its own URL: not a form's, sent again.)
      window.location.assign(page.dataset.livePage);
      return;
    }
    for (const part of page.querySelectorAll("[data-live-part][id]")) {
      const next = fresh.getElementById(part.id);
      if (next && next.innerHTML !== served.get(part)) swap(part, next.innerHTML);
    }
    page.dataset.liveRead = String(Number(page.dataset.liveRead || "0") + 1);
  } catch (_) {
    // offline: the stream's return reads again
  } finally {
    reading = false;
    if (again) {
      again = false;
      read(page);
    }
  }
}

const page = document.querySelector("[data-live-page]");
if (page) {
  for (const part of page.querySelectorAll("[data-live-part]")) served.set(part, part.innerHTML);
  document.addEventListener("input", touched);
  document.addEventListener("change", touched);
  const lost = page.querySelector("[data-stream-lost]");
  page.addEventListener("htmx:sseOpen", () => {
    page.dataset.stream = "open";
    if (lost) lost.hidden = true;
    read(page); // whatever happened while it was away (or before it first opened)
  });
  page.addEventListener("htmx:sseError", () => {
    page.dataset.stream = "lost";
    if (lost) lost.hidden = false;
    // A stream the server ended (this sign-in ended: logged out elsewhere, the account
    // turned off) is no lost Wi-Fi: reading the page again shows the login page then.
    read(page);
  });
  document.addEventListener("htmx:sseMessage", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target?.hasAttribute("data-live-refresh")) read(page);
  });
}
