// What the live editors (the plan, the network compass) share: building elements, ids for
// labels, and who is here: the names in the bar, and whose cursor is in which shared text.

import * as Y from "yjs";
import { formatNumber, t } from "./i18n.js";

export function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) el.append(child);
  }
  return el;
}

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

function colourFor(id) {
  let hash = 0;
  for (const char of String(id)) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360}, 60%, 38%)`;
}

// The shared text another device's cursor is in (y-codemirror.next's awareness "cursor"), if any.
function cursorType(cursor, doc) {
  if (!cursor?.anchor) return null;
  try {
    const at = Y.createAbsolutePositionFromRelativePosition(
      Y.createRelativePositionFromJSON(cursor.anchor),
      doc,
    );
    return at?.type instanceof Y.Text ? at.type : null;
  } catch {
    return null; // a position this device cannot place (yet)
  }
}

// Tell the others who this device is (its name on its cursor and in their bar).
export function announceMe(awareness, me) {
  const colour = colourFor(me.id);
  awareness.setLocalStateField("user", {
    name: me.name,
    color: colour,
    colorLight: `${colour}33`,
    role: me.role,
  });
}

// Who is here, as names (this device's own "you" among them), and per shared text the names
// of the others whose cursor is in it; `each(state, name)` sees every other device's state.
export function whoIsHere(live, me, writable, each = () => {}) {
  const awareness = live.awareness;
  const names = new Set();
  const typing = new Map(); // Y.Text -> names
  for (const [client, state] of awareness.getStates()) {
    const name = state?.user?.name;
    if (!name) continue;
    const mine = client === awareness.clientID;
    names.add(mine ? t("presence.you", { name }) : name);
    if (mine) continue;
    each(state, name);
    const type = cursorType(state.cursor, live.doc);
    if (type) typing.set(type, [...(typing.get(type) || []), name]);
  }
  if (!writable) names.add(t("presence.you", { name: me.name }));
  return { names: [...names].sort(), typing };
}

// The bar's "who is here": a count that opens to the names.
export function showHere(presence, names) {
  if (!presence) return;
  presence.querySelector("[data-presence-count]").textContent = formatNumber(names.length);
  presence.querySelector("[data-presence-label]").textContent = t("presence.count", {
    count: names.length,
  });
  presence
    .querySelector("[data-presence-list] ul")
    .replaceChildren(...names.map((name) => h("li", { class: "person-tag" }, name)));
}

// A field's name tag: who else is typing in it (a name, not only a coloured caret: there is
// no hover on a phone).
export function showTyping(tag, names) {
  if (!tag) return;
  tag.textContent = names.length ? t("presence.typing", { names: names.join(", ") }) : "";
  tag.hidden = names.length === 0;
}

// "Who is here" opens to the names; Escape or a tap elsewhere closes it.
export function setUpPresenceList(root, presence) {
  const toggle = root.querySelector("[data-presence-toggle]");
  const list = root.querySelector("[data-presence-list]");
  if (!toggle || !list || !presence) return;
  const show = (open) => {
    list.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => show(list.hidden));
  document.addEventListener("click", (event) => {
    if (!list.hidden && !presence.contains(event.target)) show(false);
  });
  presence.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !list.hidden) {
      show(false);
      toggle.focus();
    }
  });
}

// The bar's undo and redo (a writer's only), on one Y.UndoManager of this device's edits.
export function setUpUndo(root, undo) {
  const undoButton = root.querySelector("[data-undo]");
  const redoButton = root.querySelector("[data-redo]");
  if (!undoButton || !redoButton) return;
  undoButton.addEventListener("click", () => undo.undo());
  redoButton.addEventListener("click", () => undo.redo());
  const update = () => {
    undoButton.disabled = undo.undoStack.length === 0;
    redoButton.disabled = undo.redoStack.length === 0;
  };
  undo.on("stack-item-added", update);
  undo.on("stack-item-popped", update);
  update();
}

// The "removed" box of a list whose items can be brought back (the plan's agreements, the
// compass's questions): its title counts them; each is listed with "Terugzetten" for a writer.
export function renderRemovedList(box, removed, { title, label, writable, restore }) {
  if (!box) return;
  box.hidden = removed.length === 0;
  box.querySelector("summary").textContent = title(removed.length);
  box
    .querySelector("ul")
    .replaceChildren(
      ...removed.map((ymap) =>
        h(
          "li",
          { class: "row" },
          h("span", {}, label(ymap)),
          writable
            ? h(
                "button",
                { type: "button", class: "secondary", onclick: () => restore(ymap) },
                t("action.restore"),
              )
            : null,
        ),
      ),
    );
}
