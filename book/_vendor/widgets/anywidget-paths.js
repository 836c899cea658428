// Point require.js at the site's own copy of anywidget's front-end module (copied from the
// installed anywidget Python package at build time, so the JS and Python versions match),
// so that @jupyter-widgets/html-manager never fetches it from a CDN.
requirejs.config({ paths: { anywidget: document.currentScript.src.replace(/[^/]*$/, "") + "anywidget/index" } });
