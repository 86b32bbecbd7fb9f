// tetherd console (plain ES2020, no build step)
"use strict";
