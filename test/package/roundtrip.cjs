// The round trip as a CommonJS user writes it.
'use strict';
require('./roundtrip-body.cjs')(require('kqueue-console'), 'cjs', require('kqueue-console/harness'));
