// Run by tests/browser/conftest.py axe_violations(), after axe-core is injected.
// Every WCAG 2.0/2.1/2.2 A and AA rule runs on the whole page, except colour contrast,
// nine tenths of axe's work, which runs only on the text elements whose styling no
// passed check has seen: an element's styling is its ancestry, each element's tag,
// classes, attribute names and inline style, from the root down (the stylesheets are
// the same on every page; the service's CSS selects on nothing else).
async (known) => {
  const seen = new Set(known);
  const ancestry = (element) => {
    const parts = [];
    for (let e = element; e; e = e.parentElement) {
      const attributes = [...e.attributes]
        .map((a) => (a.name === "style" ? `style=${a.value}` : a.name))
        .sort();
      parts.push(`${e.localName}.${[...e.classList].sort().join(".")}[${attributes}]`);
    }
    return parts.reverse().join(">");
  };
  const hasText = (e) =>
    ["input", "select", "textarea", "button"].includes(e.localName) ||
    [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const fresh = [];
  const styles = [];
  for (const element of document.body.querySelectorAll("*")) {
    if (!hasText(element)) continue;
    const key = ancestry(element);
    if (seen.has(key)) continue;
    seen.add(key);
    fresh.push(element);
    styles.push(key);
  }
  const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
  const report = (results) =>
    results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
    }));
  // Only violations are asked for: axe then skips gathering the passes.
  const violations = report(
    await axe.run(document, {
      runOnly: { type: "tag", values: tags },
      rules: { "color-contrast": { enabled: false } },
      resultTypes: ["violations"],
    }),
  );
  if (fresh.length) {
    violations.push(
      ...report(
        await axe.run(
          { include: fresh },
          { runOnly: { type: "rule", values: ["color-contrast"] }, resultTypes: ["violations"] },
        ),
      ),
    );
  }
  return { violations, styles };
};
