//! The files embedded at build time by `build.rs`: `SEED_IMAGES`, every `corpus/seed/*.vhd` as
//! (file name, bytes), and `SPECS`, every `specs/**/*.yaml` as (path under `specs/`, bytes),
//! both sorted by name.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
