//! Arbitrary bytes split into a child and a parent image: check both and read the chain.
//! The body, its input format and its oracles: `vhd_fuzz_harness::bodies::validate_chain`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: vhd_fuzz_harness::seeds::init("validate_chain"), |data: &[u8]| {
    vhd_fuzz_harness::bodies::validate_chain(data);
});
