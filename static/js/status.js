// Reload the page once any in-flight generation on it finishes or changes state.
(function () {
  const nodes = Array.from(document.querySelectorAll("[data-status-url]")).filter(n => n.dataset.statusUrl);
  if (!nodes.length) return;
  const seen = new Map();
  async function poll() {
    for (const node of nodes) {
      try {
        const res = await fetch(node.dataset.statusUrl, {headers: {Accept: "application/json"}});
        const data = await res.json();
        const before = seen.get(node) || data.status;
        seen.set(node, data.status);
        if (data.finished || data.status !== before) { window.location.reload(); return; }
      } catch (e) { /* transient: try again next tick */ }
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
