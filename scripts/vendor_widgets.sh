#!/usr/bin/env bash
# Refresh the widget scripts the site serves (book/_vendor/widgets/) from the npm registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REQUIREJS=2.3.7
HTML_MANAGER=1.0.15
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack -q "requirejs@$REQUIREJS" "@jupyter-widgets/html-manager@$HTML_MANAGER" >/dev/null)
tar xzf "$tmp/requirejs-$REQUIREJS.tgz" -C "$tmp" package/require.js
cp "$tmp/package/require.js" book/_vendor/widgets/require.js
rm -rf "$tmp/package"
tar xzf "$tmp/jupyter-widgets-html-manager-$HTML_MANAGER.tgz" -C "$tmp" package/dist/embed-amd.js
cp "$tmp/package/dist/embed-amd.js" book/_vendor/widgets/embed-amd.js
rm -rf "$tmp/package"
tar xzf "$tmp/jupyter-widgets-html-manager-$HTML_MANAGER.tgz" -C "$tmp" package/dist
rm -f book/_vendor/widget-fonts/*.woff2
cp "$tmp"/package/dist/*.woff2 book/_vendor/widget-fonts/
echo "[vendor_widgets] require.js $REQUIREJS, embed-amd.js $HTML_MANAGER -> book/_vendor/widgets/"
