//! Arbitrary bytes as one image file: check it and read its virtual disk.
//! The body and its oracles: `vhd_fuzz_harness::bodies::validate_image`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: vhd_fuzz_harness::seeds::init("validate_image"), |data: &[u8]| {
    vhd_fuzz_harness::bodies::validate_image(data);
});
