// The invitation page's "Delen" button: the device's share sheet (Web Share API) with the
// ready message, which holds the link. A device without a share sheet (most desktops, some
// browsers) copies the message instead, through the page's own "Kopieer bericht" button, and
// says so. Without JavaScript the button stays hidden; the copy buttons and the text remain.

import { t } from "./i18n.js";

function say(text) {
  const status = document.getElementById("handout-status");
  if (status) status.textContent = text;
}

function copyInstead(id) {
  const copy = document.querySelector(`button[data-copy="${id}"]`);
  if (!(copy instanceof HTMLButtonElement)) return;
  copy.click(); // app.js copies (clipboard, or the fallback for plain http)
  say(t("handout.copied"));
}

async function share(button) {
  const id = button.dataset.share || "";
  const source = document.getElementById(id);
  if (!source) return;
  const text = (source.textContent || "").trim();
  if (typeof navigator.share !== "function") {
    copyInstead(id);
    return;
  }
  try {
    await navigator.share({ text });
    say(t("handout.shared"));
  } catch (error) {
    // Closing the share sheet is no failure; anything else (not allowed here): copy.
    if (error && error.name === "AbortError") return;
    copyInstead(id);
  }
}

for (const button of document.querySelectorAll("button[data-share]")) {
  button.hidden = false;
  button.addEventListener("click", (event) => {
    event.preventDefault();
    share(button);
  });
}
