// Make the htmx instance available as `window.htmx` before any extension is
// evaluated.
//
// ES module imports are hoisted: every `import` in app.js is evaluated, in
// order, before a single statement of app.js's own body runs. A
// `window.htmx = htmx` line in app.js would therefore run *after* the SSE
// extension had already loaded. Doing it in this module, imported before
// "htmx-ext-sse", guarantees the order:
//   1. htmx.org            (dependency of this module)
//   2. this module         (sets window.htmx, tweaks config)
//   3. htmx-ext-sse        (registers the "sse" extension)
//
// htmx-ext-sse 2.2.x's package entry (dist/sse.esm.js) itself does
// `import htmx from "htmx.org"`, and npm dedupes it to the same single copy
// of htmx.org, so both modules share one instance. Older builds of the
// extension (and any other UMD-style extension) use the global instead,
// which is why it must exist first.
import htmx from "htmx.org";

window.htmx = htmx;

// htmx normally injects a <style> element for .htmx-indicator at start-up.
// That is blocked by a strict Content-Security-Policy (style-src 'self'),
// so the equivalent rules live in app.css instead. A
// <meta name="htmx-config"> in the page still takes precedence.
htmx.config.includeIndicatorStyles = false;

// Kring answers bad input with a 4xx status and the form (or a page) that says what is
// wrong. htmx 2 swaps nothing for 4xx by default, which would leave the person staring at
// an unchanged form: swap those too. 5xx stays an error with no swap.
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "4..", swap: true, error: false },
  { code: "...", swap: false, error: true },
];

export default htmx;
