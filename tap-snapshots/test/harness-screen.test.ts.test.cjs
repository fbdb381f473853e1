/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/harness-screen.test.ts > TAP > the screen's text as a snapshot > the screen, as text 1`] = `
top left

    middle

                             low right
`
