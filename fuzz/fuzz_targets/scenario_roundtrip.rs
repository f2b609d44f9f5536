//! A scenario (arbitrary, random valid, random corrupt, or YAML) -> generate -> check and read:
//! a valid scenario yields no error finding and the reader's bytes equal the model's; a corrupt
//! one yields its declared rule codes. The body: `vhd_fuzz_harness::scenario`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: vhd_fuzz_harness::seeds::init("scenario_roundtrip"), |data: &[u8]| {
    vhd_fuzz_harness::scenario::scenario_roundtrip(data);
});
