// Renders the book's formulas with the vendored KaTeX: \( ... \) inline, \[ ... \] displayed,
// which is what a page's \\( and \\[ become after Markdown. A formula KaTeX cannot parse stays as
// its source and is logged as a console error, so the browser check of `cargo xtask book` fails.
renderMathInElement(document.body, {
  delimiters: [
    { left: "\\[", right: "\\]", display: true },
    { left: "\\(", right: "\\)", display: false },
  ],
});
