// Paceline's partial plotly.js: the core plus the trace types the chart builders draw
// (src/paceline/web/*_charts.py). scatter is part of the core. Keep TRACES in build.sh in step.
'use strict';
var Plotly = require('plotly.js/lib/core');
Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/funnel'),
    require('plotly.js/lib/waterfall'),
]);
module.exports = Plotly;
