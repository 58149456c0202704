// A text field that several people type in at once: CodeMirror 6 bound to a Y.Text by
// y-codemirror.next (the maintained Yjs binding). It handles IME composition, autocorrect and
// other people's cursors; nothing here diffs strings by hand.

import { Compartment, EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder as placeholderText } from "@codemirror/view";
import * as Y from "yjs";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";

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
