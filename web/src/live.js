// Live documents in the browser: a textarea bound to a Y.Text over Kring's websocket.
// Loaded only on pages with an element [data-live-document]. Bundled by build.mjs.
//
// The server decides who may read or write (rooms/phases.py); this page only mirrors it:
// a reader's textarea is read-only, and when the server closes the connection for good
// (4001: the phase took access away, 4403: refused) the page stops reconnecting and says why.

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";

const FINAL_CODES = new Set([4001, 4403]);
const LOCAL = "kring-local";

// Where `position` moves to after a remote change described by a Y.Text delta.
function transform(position, delta) {
  let index = 0;
  let moved = position;
  for (const op of delta) {
    if (op.retain) {
      index += op.retain;
    } else if (op.insert) {
      const length = typeof op.insert === "string" ? op.insert.length : 1;
      if (index <= position) moved += length;
      index += length;
    } else if (op.delete) {
      if (index < position) moved -= Math.min(op.delete, position - index);
    }
    if (index > position) break;
  }
  return moved;
}

// Apply the user's edit as the smallest change: common prefix and suffix stay untouched.
function applyLocal(ytext, before, after) {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) {
    start++;
  }
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  ytext.doc.transact(() => {
    if (endBefore > start) ytext.delete(start, endBefore - start);
    if (endAfter > start) ytext.insert(start, after.slice(start, endAfter));
  }, LOCAL);
}

function mount(root) {
  const conference = root.dataset.conference;
  const name = root.dataset.liveDocument;
  const area = root.querySelector("[data-live-text]");
  const status = root.querySelector("[data-live-status]");
  const writable = !root.hasAttribute("data-readonly");
  const doc = new Y.Doc();
  const ytext = doc.getText("text");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const provider = new WebsocketProvider(
    `${scheme}://${window.location.host}/ws/${conference}`,
    name,
    doc,
    {
      disableBc: true, // tabs must not exchange edits around the server's checks
      shouldReconnect: (event) => !FINAL_CODES.has(event.code),
    },
  );
  const say = (text, final = false) => {
    status.textContent = text;
    root.classList.toggle("is-closed", final);
  };

  provider.on("status", ({ status: state }) => {
    if (!provider.shouldConnect) return;
    if (state === "connected") say(writable ? "Verbonden: wat je typt, zien de anderen meteen." : "Verbonden (alleen lezen).");
    else say("Geen verbinding. Kring probeert het opnieuw; wat je typt, blijft bewaard op dit apparaat.");
  });
  provider.on("sync", (synced) => {
    if (synced) area.readOnly = !writable;
  });
  provider.on("closed", ({ reason }) => {
    area.readOnly = true;
    say(reason || "De verbinding is gesloten.", true);
    window.kringLiveClosed = (window.kringLiveClosed || 0) + 1;
  });

  let shown = "";
  const show = () => {
    shown = ytext.toString();
    area.value = shown;
  };
  ytext.observe((event) => {
    if (event.transaction.origin === LOCAL) {
      shown = ytext.toString();
      return;
    }
    const focused = document.activeElement === area;
    const start = transform(area.selectionStart, event.delta);
    const end = transform(area.selectionEnd, event.delta);
    show();
    if (focused) area.setSelectionRange(start, end);
  });
  area.addEventListener("input", () => {
    if (area.readOnly) return;
    applyLocal(ytext, shown, area.value);
  });
  area.readOnly = true; // until the first sync says what is there
  show();
}

document.querySelectorAll("[data-live-document]").forEach(mount);
