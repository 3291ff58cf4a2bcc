#!/bin/sh
# Rebuild src/paceline/web/vendor/plotly/plotly.min.js, the partial plotly.js the
# chart pages load. A developer's step, never a user's: the result is committed and ships as
# package data. Needs node and npm (registry access) once; run from the repository root:
#   sh tools/plotly_bundle/build.sh
# To add a trace type, add it to entry.js and TRACES below (tests/web/test_plotly_bundle.py
# checks both against what the chart builders draw and what the bundle registers).
set -eu
VERSION=4.1.1
TRACES="scatter,bar,heatmap,funnel,waterfall"
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/../../src/paceline/web/vendor/plotly"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$HERE/entry.js" "$WORK/"
cd "$WORK"
npm init -y >/dev/null
npm install --ignore-scripts --no-audit --no-fund "plotly.js@$VERSION" esbuild@0.25 >/dev/null
npx esbuild entry.js --bundle --minify --format=iife --global-name=Plotly --target=es2016 \
  --define:global=window --define:define.amd=false --define:process.env.NODE_DEBUG=false \
  --alias:stream=stream-browserify --loader:.css=empty --legal-comments=eof \
  --banner:js="/*! plotly.js v$VERSION, partial bundle for Paceline (traces: $TRACES) | Copyright 2012-2026, Plotly, Inc. | MIT License: LICENSE.txt */" \
  --outfile="$OUT/plotly.min.js"
cp node_modules/plotly.js/LICENSE "$OUT/LICENSE.txt"
