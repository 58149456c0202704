// A text field that several people type in at once: CodeMirror 6 bound to a Y.Text by
// y-codemirror.next (the maintained Yjs binding). It handles IME composition, autocorrect and
// other people's cursors; nothing here diffs strings by hand.

import { Compartment, EditorState, RangeSetBuilder } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  ViewPlugin,
  keymap,
  placeholder as placeholderText,
} from "@codemirror/view";
import * as Y from "yjs";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import { directionOf } from "./bidi.js";

const access = new Compartment();
const views = new Set();
const accessExtensions = (readOnly) => [
  EditorState.readOnly.of(readOnly),
  EditorView.editable.of(!readOnly),
  EditorView.contentAttributes.of({ "aria-readonly": String(readOnly) }),
];

// The server closed the document for this person: every field on the page becomes read-only
// (what is there stays readable; nothing typed now could be saved).
export function lockAll() {
  for (const view of views) {
    if (view.dom.isConnected)
      view.dispatch({ effects: access.reconfigure(accessExtensions(true)) });
    else views.delete(view);
  }
}

// Each line reads in the direction of its own first letter (a line without one follows the
// page): an Arabic agreement in a Dutch family's plan, or a Dutch name at the start of a line
// on an Arabic page. CodeMirror reads each line's direction for its cursor motion.
const lineDirection = {
  rtl: Decoration.line({ attributes: { dir: "rtl" } }),
  ltr: Decoration.line({ attributes: { dir: "ltr" } }),
};
function lineDirections(view) {
  const builder = new RangeSetBuilder();
  const { doc } = view.state;
  for (let number = 1; number <= doc.lines; number++) {
    const line = doc.line(number);
    const direction = directionOf(line.text);
    if (direction) builder.add(line.from, line.from, lineDirection[direction]);
  }
  return builder.finish();
}
const bidi = [
  EditorView.perLineTextDirection.of(true),
  ViewPlugin.define(
    (view) => ({
      decorations: lineDirections(view),
      update(update) {
        if (update.docChanged) this.decorations = lineDirections(update.view);
      },
    }),
    { decorations: (plugin) => plugin.decorations },
  ),
];

/**
 * @param {HTMLElement} parent
 * @param {import("yjs").Text} ytext
 * @param {{awareness?: any, undoManager?: any, readOnly?: boolean, labelledBy?: string,
 *          describedBy?: string, placeholder?: string, multiline?: boolean,
 *          capitalize?: string, onChange?: (text: string) => void,
 *          onFocus?: () => void}} options
 */
export function textField(parent, ytext, options = {}) {
  const { readOnly = false, multiline = true, onChange, onFocus } = options;
  // People write sentences and names here: the device's own spelling check, autocorrect and
  // capitals, which CodeMirror (written for code) switches off by default.
  const content = {
    "aria-multiline": String(multiline),
    spellcheck: "true",
    autocorrect: "on",
    autocapitalize: options.capitalize ?? "sentences",
    writingsuggestions: "true",
  };
  if (options.labelledBy) content["aria-labelledby"] = options.labelledBy;
  if (options.describedBy) content["aria-describedby"] = options.describedBy;
  const extensions = [
    EditorView.lineWrapping,
    bidi,
    EditorView.editorAttributes.of({ class: "text-field" }), // CodeMirror owns the class attribute
    EditorView.contentAttributes.of(content),
    yCollab(ytext, options.awareness ?? null, { undoManager: options.undoManager ?? false }),
    access.of(accessExtensions(readOnly)),
  ];
  if (options.undoManager) extensions.push(keymap.of(yUndoManagerKeymap));
  if (!multiline) {
    // Enter does not break a one-line field (a pasted or remote line break is kept as it is:
    // filtering transactions would make this view disagree with the shared text).
    extensions.push(keymap.of([{ key: "Enter", run: () => true }]));
  }
  if (options.placeholder) extensions.push(placeholderText(options.placeholder));
  if (onChange) {
    extensions.push(
      EditorView.updateListener.of(
        (update) => update.docChanged && onChange(update.state.doc.toString()),
      ),
    );
  }
  const awareness = options.awareness;
  extensions.push(
    EditorView.domEventHandlers({
      focus: () => onFocus?.(),
      // Leaving the field takes one's cursor (and name) out of it for everyone else, so a
      // name on a field means someone is in it now.
      blur: () => {
        const cursor = awareness?.getLocalState()?.cursor;
        if (!cursor?.anchor) return;
        const at = Y.createAbsolutePositionFromRelativePosition(
          Y.createRelativePositionFromJSON(cursor.anchor),
          ytext.doc,
        );
        if (at?.type === ytext) awareness.setLocalStateField("cursor", null);
      },
    }),
  );
  const view = new EditorView({
    parent,
    state: EditorState.create({ doc: ytext.toString(), extensions }),
  });
  views.add(view);
  return view;
}
