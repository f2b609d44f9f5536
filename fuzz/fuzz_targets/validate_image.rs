//! Arbitrary bytes as one image file: check it and read its virtual disk.
//! The body and its oracles: `vhd_validator::fuzzing::validate_image`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: vhd_conformance_fuzz::seeds::init("validate_image"), |data: &[u8]| {
    vhd_validator::fuzzing::validate_image(data);
});
