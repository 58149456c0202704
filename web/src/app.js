// Kring front-end entry point, bundled by build.mjs into static/build/.
// Everything is bundled; nothing is fetched from another host.

// Order matters (see htmx-global.js): htmx, then the global, then extensions.
import "htmx.org";
import "./htmx-global.js";
import "htmx-ext-sse";
import "./device.js"; // "forget this device" finishes on the page that says it is forgotten
import "./livepage.js"; // the console (and a follow-up meeting) follow the room

const COPIED_LABEL = "Gekopieerd";
const COPIED_MS = 2000;

function textOf(el) {
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
    return el.value;
  }
  return (el.textContent || "").trim();
}

// Fallback for non-secure contexts (plain http on a LAN), where
// navigator.clipboard is unavailable.
function legacyCopy(text) {
  const previous = document.activeElement;
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.top = "-1000px";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch (_) {
    ok = false;
  }
  area.remove();
  // Keep keyboard users where they were (select() moved focus away).
  if (previous instanceof HTMLElement) previous.focus();
  return ok;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      // fall through to the legacy path
    }
  }
  return legacyCopy(text);
}

const timers = new WeakMap();

async function onCopy(button) {
  const target = document.getElementById(button.dataset.copy || "");
  if (!target) return;
  const ok = await copyText(textOf(target));
  if (!ok) return;

  if (!timers.has(button)) {
    button.dataset.copyLabel = button.textContent;
  } else {
    clearTimeout(timers.get(button));
  }
  button.textContent = COPIED_LABEL;
  button.classList.add("is-copied");
  timers.set(
    button,
    setTimeout(() => {
      button.textContent = button.dataset.copyLabel || button.textContent;
      button.classList.remove("is-copied");
      delete button.dataset.copyLabel;
      timers.delete(button);
    }, COPIED_MS),
  );
}

// Delegated on document, so buttons inside content swapped in by htmx work too.
document.addEventListener("click", (event) => {
  const origin = event.target instanceof Element ? event.target : null;
  if (!origin) return;

  const copyButton = origin.closest("button[data-copy]");
  if (copyButton) {
    event.preventDefault();
    onCopy(copyButton);
    return;
  }

  const printButton = origin.closest("button[data-print]");
  if (printButton) {
    event.preventDefault();
    window.print();
  }
});

// -- the coordinator's console: live signals from the family -------------------------------

// A short two-tone chime made on the spot (no audio file to load). Browsers allow sound
// only after the page had a click or key press; the visible alert is there regardless.
function chime() {
  const AudioContext = window.AudioContext || window.webkitAudioContext;
  if (!AudioContext) return;
  try {
    const audio = new AudioContext();
    [660, 880].forEach((frequency, i) => {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.2, audio.currentTime + i * 0.18);
      volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + i * 0.18 + 0.3);
      tone.connect(volume).connect(audio.destination);
      tone.start(audio.currentTime + i * 0.18);
      tone.stop(audio.currentTime + i * 0.18 + 0.3);
    });
    setTimeout(() => audio.close(), 1000);
  } catch (_) {
    // no sound: the alert is on screen
  }
}

document.addEventListener("htmx:sseMessage", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  if (target.hasAttribute("data-reload-on-message")) {
    // The phase changed: the console shows other controls now. A page that follows the
    // room opens its own URL (a reload of a form's answer would send the form again).
    const live = target.closest("[data-live-page]");
    if (live) window.location.assign(live.dataset.livePage);
    else window.location.reload();
    return;
  }
  if (target.hasAttribute("data-signal-sound")) {
    chime();
    document.title = `(!) ${document.title.replace(/^\(!\) /, "")}`;
  }
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) document.title = document.title.replace(/^\(!\) /, "");
});
