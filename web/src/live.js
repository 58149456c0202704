// Live documents other than the plan (the information phase's shared text): one CodeMirror
// field bound to the document's Y.Text, with the same connection, "saved" indicator and local
// copy as the plan editor (sync.js, textfield.js). Loaded only on pages with an element
// [data-live-document].

import { LiveDocument, showState } from "./sync.js";
import { textField } from "./textfield.js";

function mount(root) {
  const writable = !root.hasAttribute("data-readonly");
  const status = root.querySelector("[data-live-status]");
  const host = root.querySelector("[data-live-text]");
  const live = new LiveDocument({
    conference: root.dataset.conference,
    name: root.dataset.liveDocument,
    person: root.dataset.person || "",
    writable,
    onState: (doc) => showState(status, doc),
  });
  showState(status, live);
  const colour = `hsl(${live.doc.clientID % 360}, 60%, 38%)`;
  if (writable && root.dataset.me) {
    live.awareness.setLocalStateField("user", {
      name: root.dataset.me,
      color: colour,
      colorLight: `${colour}33`,
    });
  }
  textField(host, live.doc.getText("text"), {
    awareness: live.awareness,
    readOnly: !writable,
    labelledBy: host.dataset.labelledBy,
  });
  root.dataset.ready = "true";
  return live;
}

window.kringLive = [...document.querySelectorAll("[data-live-document]")].map(mount);
