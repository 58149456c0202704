// Which way a piece of text the family typed reads: from its first letter, as dir="auto" does
// (a Dutch name inside an Arabic sentence keeps the sentence right to left, an Arabic word in
// a Dutch sentence keeps it left to right). Used where the browser cannot be asked: the lines
// of a CodeMirror field, where a remote cursor's name tag or the placeholder would otherwise
// count as text, and the labels of the network map's drawing.

const LETTER = /\p{L}/u;
const RIGHT_TO_LEFT = new RegExp(
  [
    "Arabic",
    "Hebrew",
    "Syriac",
    "Thaana",
    "Nko",
    "Samaritan",
    "Mandaic",
    "Adlam",
    "Hanifi_Rohingya",
    "Mende_Kikakui",
  ]
    .map((script) => `\\p{Script=${script}}`)
    .join("|"),
  "u",
);

/** "rtl", "ltr", or null for text without a letter (it then follows its surroundings). */
export function directionOf(text) {
  const letter = LETTER.exec(text);
  if (!letter) return null;
  return RIGHT_TO_LEFT.test(letter[0]) ? "rtl" : "ltr";
}
