// The round trip as an ES module user writes it: named imports from the
// CommonJS package.
import { Kqueuer, openPty, spawn } from 'kqueue-console';
import roundTrip from './roundtrip-body.cjs';

roundTrip({ Kqueuer, openPty, spawn }, 'mjs');
