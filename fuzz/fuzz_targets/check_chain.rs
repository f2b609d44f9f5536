//! A differencing chain of two to four small images built from the input (related unique ids,
//! parent names and locators, then byte patches), written to a temporary directory and checked
//! by path: parent resolution and the chain rules run. The body, its input format and its
//! oracles: `vhd_fuzz_harness::bodies::check_chain`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: vhd_fuzz_harness::seeds::init("check_chain"), |data: &[u8]| {
    vhd_fuzz_harness::bodies::check_chain(data);
});
